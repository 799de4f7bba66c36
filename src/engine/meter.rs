//! A bound on an execution's live state: whatever its running branches hold must fit in a
//! checkpoint (`MAX_STATE_BYTES` of JSON), since any invocation may have to park the execution,
//! and it bounds memory (the largest live state a 128 MB Lambda must hold).
//!
//! Measuring the whole state at every step would cost more than the step. Each state's data is
//! already serialized for its own 64 KiB limit (`mapping::check_size`), so the engine counts
//! those bytes, an upper bound on how much the live state grew, and measures the whole state
//! only once the count passes `MEASURE_AFTER_BYTES`: the state never runs past the limit by
//! more than that, and the measuring costs at most a few times the data produced.

use std::cell::Cell;

use serde::Serialize;

/// Largest live state of an execution, as JSON (what its checkpoint would take).
pub const MAX_STATE_BYTES: usize = 4 * 1024 * 1024;
/// The error of an execution whose state outgrows `MAX_STATE_BYTES`.
pub const STATE_TOO_LARGE_ERROR: &str = "FnF.CheckpointTooLarge";
/// Checked data between two measurements of the whole state.
const MEASURE_AFTER_BYTES: usize = 1024 * 1024;

thread_local! {
    /// The count of the `advance` call running on this thread (`advance` is synchronous, so
    /// nothing else runs on the thread meanwhile).
    static CHECKED: Cell<usize> = const { Cell::new(0) };
}

/// Bytes of state data checked since the state was last measured. Kept with the checkpoint
/// in memory only (a reloaded execution counts afresh), and no part of its equality: it is a
/// meter, not state.
#[derive(Debug, Clone, Copy, Default)]
pub struct Grown(usize);

impl PartialEq for Grown {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Starts an `advance` call's count where the execution's left off.
pub(super) fn begin(grown: Grown) {
    CHECKED.with(|c| c.set(grown.0));
}

/// Ends an `advance` call: its count, to keep with the execution.
pub(super) fn end() -> Grown {
    Grown(CHECKED.with(|c| c.replace(0)))
}

/// Counts `bytes` of checked state data.
pub(super) fn count(bytes: usize) {
    CHECKED.with(|c| c.set(c.get().saturating_add(bytes)));
}

/// Whether the whole state should be measured before another state runs.
pub(super) fn due() -> bool {
    CHECKED.with(Cell::get) > MEASURE_AFTER_BYTES
}

/// Measures the live state (resetting the count): the failure's cause when it is too large.
pub(super) fn measure(state: &impl Serialize) -> Result<(), String> {
    CHECKED.with(|c| c.set(0));
    if json_len(state, MAX_STATE_BYTES) > MAX_STATE_BYTES {
        return Err(format!(
            "the execution's live state exceeds the checkpoint limit of {MAX_STATE_BYTES} bytes"
        ));
    }
    Ok(())
}

/// The length of `value` as JSON; counting stops once it passes `cap`.
pub(crate) fn json_len(value: &impl Serialize, cap: usize) -> usize {
    struct Counter(usize, usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            if self.0 > self.1 {
                // Stop serializing early: the answer is already known.
                return Err(std::io::Error::other("too large"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Counter(0, cap);
    let _ = serde_json::to_writer(&mut c, value);
    c.0
}
