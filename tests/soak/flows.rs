//! The flows the soak runs (tests/soak.rs): one of each kind of work.

pub const WAIT: &str = "\
Type: StateMachine
SpecVersion: v1
Name: wait
StartAt: nap
States:
  - Type: Wait
    Name: nap
    Seconds: 1
    Next: done
  - Type: Pass
    Name: done
    OutputConstructor:
      k.$: $Input.k
      waited: true
    End: true
";

pub const HTTP: &str = "\
Type: StateMachine
SpecVersion: v1
Name: http
StartAt: call
States:
  - Type: Task
    Name: call
    Action: HTTP:Request
    Parameters:
      url.$: $Input.url
      method: POST
      body:
        k.$: $Input.k
    Retry:
      - Errors: [HTTP.ServerError]
        IntervalSeconds: 1
        MaxAttempts: 3
    OutputConstructor:
      body.$: $Output.Body
    End: true
";

pub const CALLBACK: &str = "\
Type: StateMachine
SpecVersion: v1
Name: callback
StartAt: ask
States:
  - Type: Task
    Name: ask
    Action: HTTP:Request
    TaskMode: WaitForCustomCallback
    Parameters:
      url.$: $Input.url
      method: POST
      body:
        callback: true
        k.$: $Input.k
    End: true
";

pub const CHILD: &str = "\
Type: StateMachine
SpecVersion: v1
Name: child
StartAt: answer
States:
  - Type: Pass
    Name: answer
    OutputConstructor:
      k.$: $Input.k
      child: true
    End: true
";

pub const PARENT: &str = "\
Type: StateMachine
SpecVersion: v1
Name: parent
StartAt: run child
States:
  - Type: Task
    Name: run child
    Action: FNF:StartExecution
    TaskMode: WaitForSystemCallback
    Parameters:
      FlowName: child
      Input.$: $Input
    End: true
";
