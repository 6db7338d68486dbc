#![doc = include_str!("../README.md")]

mod cache_key;
mod error;
mod flow;
mod jwt_bearer;
mod provider;
mod replay;
mod step_up;
mod token_exchange;
mod validator;

pub use error::{Error, Rejection, Step};
pub use flow::{DEFAULT_CACHE_CAPACITY, DEFAULT_REFRESH_BUFFER, IdJagFlow, IdJagFlowBuilder};
pub use jwt_bearer::{GRANT_TYPE_JWT_BEARER, JwtBearerClient};
pub use provider::{IdJagProvider, IdJagProviderBuilder};
pub use step_up::insufficient_scope;
pub use token_exchange::{
    GRANT_TYPE_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ID_JAG, TOKEN_TYPE_ID_TOKEN,
    TokenExchangeClient, TokenExchangeRequest, TokenExchangeResponse,
};
pub use validator::{
    DEFAULT_LEEWAY, DEFAULT_REPLAY_CAPACITY, ID_JAG_TYP, IdJagClaims, IdJagValidator,
    IdJagValidatorBuilder,
};
