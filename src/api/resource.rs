//! What each action acts on, for the key's policy: the one table the gate authorizes by.
//!
//! The flow authorized is read from the very parameter the action's handler reads (`Name` for
//! the flow actions, `FlowName` for versions, aliases and executions). A flow-naming parameter
//! the action does not read (`FlowName` on DescribeFlow, `Name` on StartExecution, either on
//! ListFlows or an account action) is refused with `InvalidArgument`, never ignored: a caller
//! cannot have one flow authorized while another is acted on. Versions and aliases are
//! resources of their flow. Accounts and keys are authorized as their account, every flow
//! included (`acs:fnf:*:<account>:*`). An unknown action is `ActionNotSupported`.

use super::request::Params;
use crate::error::FnfError;
use crate::service::truncate;

/// Which of `Name` and `FlowName` an action reads, and what they name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Names {
    /// `Name` is the flow; no `FlowName`.
    FlowIsName,
    /// `FlowName` is the flow; no `Name`.
    FlowIsFlowName,
    /// `FlowName` is the flow, `Name` one of its aliases.
    FlowAndAlias,
    /// About no one flow: neither.
    NoFlow,
}

/// Whose account the action acts in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// The caller's own.
    Caller,
    /// `AccountId`, the caller's own when absent.
    AccountParam,
    /// The account of the key `AccessKeyId` names (known once the key is read).
    KeyParam,
}

/// The table: every action, the parameters naming what it touches (read from its handler in
/// `src/service/`). ReportTask*: the token's flow is known only once the token is looked up,
/// so these need the caller's whole account, like ListFlows.
fn shape(action: &str) -> Option<(Names, Owner)> {
    use Names::*;
    use Owner::*;
    Some(match action {
        "CreateFlow" | "UpdateFlow" | "DescribeFlow" | "DeleteFlow" => (FlowIsName, Caller),
        "PublishFlowVersion"
        | "ListFlowVersions"
        | "DeleteFlowVersion"
        | "ListFlowAliases"
        | "StartExecution"
        | "DescribeExecution"
        | "ListExecutions"
        | "GetExecutionHistory"
        | "StopExecution" => (FlowIsFlowName, Caller),
        "CreateFlowAlias" | "DescribeFlowAlias" | "UpdateFlowAlias" | "DeleteFlowAlias" => {
            (FlowAndAlias, Caller)
        }
        "ListFlows" | "ReportTaskSucceeded" | "ReportTaskFailed" | "ListAccounts" => {
            (NoFlow, Caller)
        }
        "CreateAccount" | "DescribeAccount" | "UpdateAccount" | "CreateAccessKey"
        | "ListAccessKeys" => (NoFlow, AccountParam),
        "UpdateAccessKey" | "DeleteAccessKey" => (NoFlow, KeyParam),
        _ => return None,
    })
}

/// The parameter naming the flow `action` acts on (`None`: no one flow, or an unknown action).
pub fn flow_param(action: &str) -> Option<&'static str> {
    match shape(action)?.0 {
        Names::FlowIsName => Some("Name"),
        Names::FlowIsFlowName | Names::FlowAndAlias => Some("FlowName"),
        Names::NoFlow => None,
    }
}

/// The account a resource lives in, as the request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountOf<'a> {
    /// The caller's own account.
    Caller,
    /// An account named by its id.
    Named(&'a str),
    /// The account of this access key, to be looked up.
    KeyOf(&'a str),
}

/// What one request acts on: a flow (`None`: the whole account) in an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target<'a> {
    pub flow: Option<&'a str>,
    pub account: AccountOf<'a>,
}

/// What `action` with `params` acts on; refuses an unknown action and a flow-naming parameter
/// the action does not read.
pub fn target<'a>(action: &str, params: &'a Params) -> Result<Target<'a>, FnfError> {
    let Some((names, owner)) = shape(action) else {
        return Err(FnfError::ActionNotSupported(truncate(action, 64)));
    };
    let flow_param = flow_param(action);
    let unread: &[&str] = match names {
        Names::FlowIsName => &["FlowName"],
        Names::FlowIsFlowName => &["Name"],
        Names::FlowAndAlias => &[],
        Names::NoFlow => &["Name", "FlowName"],
    };
    if let Some(extra) = unread.iter().find(|p| params.optional(p).is_some()) {
        let why = match flow_param {
            Some(flow) => format!("is not a parameter of {action}, whose flow is {flow}"),
            None => format!("is not a parameter of {action}, which names no flow"),
        };
        return Err(FnfError::invalid(extra, why));
    }
    let account = match owner {
        Owner::Caller => AccountOf::Caller,
        Owner::AccountParam => params
            .optional("AccountId")
            .map_or(AccountOf::Caller, AccountOf::Named),
        // Without the parameter the handler refuses the call; the caller's account stands in.
        Owner::KeyParam => params
            .optional("AccessKeyId")
            .map_or(AccountOf::Caller, AccountOf::KeyOf),
    };
    Ok(Target {
        flow: flow_param.and_then(|p| params.optional(p)),
        account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_a_shape_and_unknown_ones_are_not_supported() {
        for &action in crate::service::ACTIONS {
            assert!(shape(action).is_some(), "{action}");
        }
        let p = Params::default();
        assert_eq!(
            target("DescribeFlows", &p),
            Err(FnfError::ActionNotSupported("DescribeFlows".into()))
        );
    }

    #[test]
    fn the_flow_is_the_parameter_the_action_reads_and_others_are_refused() {
        let both = Params::from([("Name", "a"), ("FlowName", "b")]);
        for &action in crate::service::ACTIONS {
            let t = target(action, &both);
            match shape(action).unwrap().0 {
                Names::FlowAndAlias => assert_eq!(t.unwrap().flow, Some("b"), "{action}"),
                _ => assert!(
                    matches!(t, Err(FnfError::InvalidArgument(_))),
                    "{action}: {t:?}"
                ),
            }
        }
        let name = Params::from([("Name", "a")]);
        assert_eq!(target("DeleteFlow", &name).unwrap().flow, Some("a"));
        let flow = Params::from([("FlowName", "b"), ("Name", "")]);
        assert_eq!(target("StartExecution", &flow).unwrap().flow, Some("b"));
    }

    #[test]
    fn accounts_and_keys_are_their_account() {
        let p = Params::from([("AccountId", "acme"), ("AccessKeyId", "K")]);
        let account = |action| target(action, &p).unwrap().account;
        assert_eq!(account("CreateAccessKey"), AccountOf::Named("acme"));
        assert_eq!(account("UpdateAccessKey"), AccountOf::KeyOf("K"));
        assert_eq!(account("ListAccounts"), AccountOf::Caller);
        let none = Params::default();
        let t = target("DescribeAccount", &none).unwrap();
        assert_eq!((t.flow, t.account), (None, AccountOf::Caller));
    }
}
