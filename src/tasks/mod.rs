//! Running the tasks the engine asks for. The engine never runs a task itself (it stays pure);
//! the service hands each request to the runner for its resource.

pub mod test_tasks;
