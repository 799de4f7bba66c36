//! PLACEHOLDER until the flow module lands (being written in parallel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowType {
    Fdl,
    CloudFlow,
}
impl FlowType {
    pub fn from_api(s: &str) -> Option<FlowType> {
        match s {
            "FDL" => Some(FlowType::Fdl),
            "DEFAULT" => Some(FlowType::CloudFlow),
            _ => None,
        }
    }
    pub fn as_api(self) -> &'static str {
        match self {
            FlowType::Fdl => "FDL",
            FlowType::CloudFlow => "DEFAULT",
        }
    }
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DefinitionError {
    pub path: String,
    pub message: String,
}
#[derive(Debug, Clone)]
pub struct Flow;
pub const MAX_DEFINITION_BYTES: usize = 128 * 1024;
pub fn parse(definition: &str, _kind: FlowType) -> Result<Flow, DefinitionError> {
    if definition.contains("States") || definition.contains("steps") {
        Ok(Flow)
    } else {
        Err(DefinitionError {
            path: "Definition".into(),
            message: "placeholder".into(),
        })
    }
}
