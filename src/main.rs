//! The `fnf-lambda` binary: the Lambda function when started by a Lambda runtime, or a local
//! server / tool from the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use fnf_lambda::api::auth::AuthMode;
use fnf_lambda::clock::{Clock, SystemClock};
use fnf_lambda::dispatch::invoke::InvokeDispatcher;
use fnf_lambda::entry::{self, StoreChoice, cli};
use fnf_lambda::logging;
use fnf_lambda::store::StoreError;
use fnf_lambda::store::dynamo::DynamoStore;
use fnf_lambda::store::unavailable::UnavailableStore;
use std::sync::Arc;

const USAGE: &str = "\
fnf-lambda: a Serverless Workflow (fnf 2019-03-15) service

USAGE:
  fnf-lambda                      run as the AWS Lambda function (AWS_LAMBDA_RUNTIME_API set)
  fnf-lambda serve [OPTIONS]      serve the fnf API over HTTP
      --addr ADDR                 listen address (default 127.0.0.1:8080)
      --data-dir DIR              embedded store directory (default $FNF_DATA_DIR or ./.fnf-data)
      --table NAME                use this DynamoDB table instead of the embedded store
  fnf-lambda run FILE [OPTIONS]   run a definition locally (virtual time, built-in test tasks)
      --input JSON                the execution input (default {})
      --type FDL|DEFAULT          the language (default: detected from the definition)
      --history                   print the states entered to stderr
  fnf-lambda validate FILE [--type FDL|DEFAULT]
                                  say what is wrong with a definition
  fnf-lambda create-table NAME    create the DynamoDB table (for a local DynamoDB such as moto)
  fnf-lambda backup --to FILE [--data-dir DIR] [--force]
                                  copy the embedded store to FILE, checksums verified (stop serve first)
  fnf-lambda restore --from FILE [--data-dir DIR] [--force]
                                  put a verified backup in place (--force replaces a store that is there)
  fnf-lambda help                 this text

ENVIRONMENT:
  TABLE_NAME                      DynamoDB table (Lambda mode)
  AWS_ENDPOINT_URL_DYNAMODB       a local DynamoDB endpoint
  FNF_STORE=embedded              use the embedded store even when TABLE_NAME is set
  FNF_DATA_DIR                    embedded store directory
  FNF_RESPONSE_BUDGET_MS          how long StartExecution runs a flow before answering Running (5000)
  FNF_INVOCATION_BUDGET_MS        how long one invocation drives an execution before handing over
  FNF_CONTINUATION                invoke (Lambda default) or local (in this process)
  FNF_SWEEP_INTERVAL_MS           how often `serve` sweeps for due executions (10000)
  FNF_MAX_CONNECTIONS             connections `serve` holds at once; more get 503 (512)
  FNF_HEADER_TIMEOUT_MS           time for a request head, or the next one on a connection (10000)
  FNF_IDLE_TIMEOUT_MS             `serve` closes a connection silent this long between requests (5000)
  FNF_BODY_TIMEOUT_MS             time for a whole request body; then RequestTimeout (10000)
  RUST_LOG                        log filter (default info)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Local tools need no async runtime.
    match args.first().map(String::as_str) {
        Some(cmd @ ("run" | "validate")) => return local_tool(cmd, &args[1..]),
        Some("backup") => return print_report(entry::backup::backup(&args[1..])),
        Some("restore") => return print_report(entry::backup::restore(&args[1..])),
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fnf-lambda: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match args.first().map(String::as_str) {
            None if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => lambda().await,
            Some("serve") => serve(&args[1..]).await,
            Some("create-table") => create_table(&args[1..]).await,
            Some("help" | "--help" | "-h") => {
                print!("{USAGE}");
                Ok(())
            }
            _ => Err(format!("nothing to do\n\n{USAGE}")),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fnf-lambda: {e}");
            ExitCode::FAILURE
        }
    }
}

fn local_tool(cmd: &str, args: &[String]) -> ExitCode {
    let (mut file, mut input, mut kind, mut history) = (None, None, None, false);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--input" if cmd == "run" => input = it.next().cloned(),
            "--history" if cmd == "run" => history = true,
            "--type" => kind = it.next().cloned(),
            other if !other.starts_with("--") && file.is_none() => {
                file = Some(PathBuf::from(other))
            }
            other => {
                eprintln!("fnf-lambda {cmd}: unexpected argument {other}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("fnf-lambda {cmd}: which definition file?\n\n{USAGE}");
        return ExitCode::from(2);
    };
    print_report(match cmd {
        "run" => cli::run(&file, input.as_deref(), kind.as_deref(), history),
        _ => cli::validate(&file, kind.as_deref()),
    })
}

fn print_report(report: cli::Report) -> ExitCode {
    print!("{}", report.stdout);
    eprint!("{}", report.stderr);
    ExitCode::from(report.code)
}

async fn lambda() -> Result<(), String> {
    logging::init(true);
    // In Lambda every HTTP request must be signed unless FNF_AUTH=none says otherwise.
    let gate = entry::gate_from_env(AuthMode::Signature)?;
    if gate.mode == AuthMode::Off {
        tracing::warn!("FNF_AUTH=none: HTTP callers are not authenticated");
    }
    let store = StoreChoice::from_env()
        .open()
        .await
        .map_err(|e| e.to_string())?;
    entry::bootstrap_admin_key(&store, SystemClock.now_ms()).await?;
    // Lambda allows 15 minutes; each invocation's own deadline narrows this further.
    let budgets = entry::budgets_from_env(600_000);
    let service = match std::env::var("FNF_CONTINUATION").as_deref() {
        Ok("inline" | "local") => entry::local_service(
            store,
            budgets,
            entry::integrations_from_env(true, false).await?,
        )?,
        _ => {
            let function = std::env::var("FNF_FUNCTION_NAME")
                .or_else(|_| std::env::var("AWS_LAMBDA_FUNCTION_NAME"))
                .map_err(|_| "FNF_FUNCTION_NAME (or AWS_LAMBDA_FUNCTION_NAME) must name this function for continuations")?;
            let dispatcher = InvokeDispatcher::from_env(function, SystemClock).await;
            entry::service(store)?
                .with_continuations(Arc::new(dispatcher), budgets)
                .with_integrations(entry::integrations_from_env(true, false).await?)
        }
    };
    entry::lambda::run(service.with_gate(gate))
        .await
        .map_err(|e| e.to_string())
}

async fn serve(args: &[String]) -> Result<(), String> {
    logging::init(false);
    let mut addr: SocketAddr = ([127, 0, 0, 1], 8080).into();
    let mut choice = StoreChoice::Embedded {
        dir: entry::data_dir_from_env(),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--addr" => addr = value()?.parse().map_err(|e| format!("--addr: {e}"))?,
            "--data-dir" => {
                choice = StoreChoice::Embedded {
                    dir: PathBuf::from(value()?),
                }
            }
            "--table" => choice = StoreChoice::Dynamo { table: value()? },
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    // On loopback, authentication is off unless FNF_AUTH=signature; anywhere else it is
    // required: serving unauthenticated beyond this machine is refused.
    let gate = entry::gate_from_env(if addr.ip().is_loopback() {
        AuthMode::Off
    } else {
        AuthMode::Signature
    })?;
    if gate.mode == AuthMode::Off && !addr.ip().is_loopback() {
        return Err(format!(
            "refusing to serve without authentication on {addr}, which is not a loopback address: \
             unset FNF_AUTH (or set FNF_AUTH=signature) and create keys"
        ));
    }
    // Without authentication every caller is the operator on this machine already, so HTTP
    // tasks may reach loopback too (FNF_HTTP_ALLOW_NETWORKS=none denies it).
    let loopback = gate.mode == AuthMode::Off;
    let integrations = entry::integrations_from_env(false, loopback).await?;
    let limits = entry::serve::Limits::from_env()?;
    let store = match choice.open().await {
        Ok(store) => {
            entry::bootstrap_admin_key(&store, SystemClock.now_ms()).await?;
            store
        }
        // A corrupted or lost file: serve on, every call answering InternalServerError (the
        // log says why), rather than end and be restarted into the same refusal by a
        // supervisor. Another process using the directory (InUse) ends this one: it is not
        // this process's store to answer for.
        Err(e @ (StoreError::CorruptFile { .. } | StoreError::LostFile { .. })) => {
            let store = UnavailableStore::refusing(e);
            tracing::error!(
                "{}; until then every request answers InternalServerError",
                store.reason()
            );
            Arc::new(store)
        }
        Err(e) => return Err(format!("cannot open the store: {e}")),
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    match gate.mode {
        AuthMode::Off => tracing::warn!(
            "authentication is off: every caller on this machine acts as the operator \
             (FNF_AUTH=signature turns signed requests on)"
        ),
        AuthMode::Signature => {
            tracing::info!("requests must be signed with an access key (signature V1 or V3)")
        }
    }
    match &choice {
        StoreChoice::Embedded { dir } => tracing::info!(
            "serving the fnf API on http://{local} (embedded store in {})",
            dir.display()
        ),
        StoreChoice::Dynamo { table } => {
            tracing::info!("serving the fnf API on http://{local} (DynamoDB table {table})")
        }
    }
    let service =
        entry::local_service(store, entry::budgets_from_env(60_000), integrations)?.with_gate(gate);
    entry::serve::run(service, listener, limits).await;
    Ok(())
}

async fn create_table(args: &[String]) -> Result<(), String> {
    logging::init(false);
    let table = args.first().ok_or("create-table needs the table name")?;
    DynamoStore::from_env(table.clone())
        .await
        .create_table()
        .await
        .map_err(|e| e.to_string())?;
    println!("created table {table}");
    Ok(())
}
