//! An op error that carries Node's `code` (`ENOENT`, `Z_DATA_ERROR`, ...)
//! as a property of the JavaScript error, so the built-ins read it instead
//! of parsing messages.

use std::borrow::Cow;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CodedError {
    pub code: &'static str,
    pub message: String,
}

impl CodedError {
    pub fn new(code: &'static str, message: impl Into<String>) -> CodedError {
        CodedError { code, message: message.into() }
    }
}

impl deno_error::JsErrorClass for CodedError {
    fn get_class(&self) -> Cow<'static, str> {
        Cow::Borrowed(deno_error::builtin_classes::GENERIC_ERROR)
    }

    fn get_message(&self) -> Cow<'static, str> {
        Cow::Owned(self.message.clone())
    }

    fn get_additional_properties(&self) -> deno_error::AdditionalProperties {
        Box::new(std::iter::once((Cow::Borrowed("code"), deno_error::PropertyValue::from(self.code))))
    }

    fn get_ref(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
}
