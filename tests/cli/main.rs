//! msgctl end to end: the real binary against a real msgd (embedded store), with a temp config directory.

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod completions;
mod docs;
mod exit_codes;
mod flow;
mod lifecycle;
mod messaging;
mod prompts;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use common::{Backend, Database, TestApp};
use msgkit::client::Client;

/// A running msgd and a private msgctl config directory.
pub struct Env {
    pub runtime: tokio::runtime::Runtime,
    pub app: TestApp,
    _db: Database,
    pub config: tempfile::TempDir,
}

impl Env {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// A server whose settings `tweak` changes.
    pub fn start_with(tweak: impl FnOnce(&mut msgkit::config::Config)) -> Self {
        Self::start_on(Backend::Sqlite, tweak)
    }

    /// A server on `backend`.
    pub fn start_on(backend: Backend, tweak: impl FnOnce(&mut msgkit::config::Config)) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (app, db) = runtime.block_on(common::spawn_app_with(backend, tweak));
        let config = tempfile::tempdir().unwrap();
        Self { runtime, app, _db: db, config }
    }

    /// msgctl pointed at this server and config directory, with no token in the environment, no terminal,
    /// UTC times and a 30 s limit so a hang fails the test instead of stalling it.
    pub fn msgctl(&self) -> assert_cmd::Command {
        self.msgctl_for(&self.app.base_url)
    }

    /// msgctl pointed at `server`.
    pub fn msgctl_for(&self, server: &str) -> assert_cmd::Command {
        let mut command = assert_cmd::Command::new(env!("CARGO_BIN_EXE_msgctl"));
        command
            .env("MSGCTL_SERVER", server)
            .env("MSGCTL_CONFIG_DIR", self.config_dir())
            .env_remove("MSGCTL_TOKEN")
            .env("TZ", "UTC")
            .timeout(Duration::from_secs(30));
        command
    }

    pub fn config_dir(&self) -> PathBuf {
        self.config.path().join("msgctl")
    }

    pub fn sessions_file(&self) -> PathBuf {
        self.config_dir().join("sessions.json")
    }

    /// A typed API client, and a way to run it.
    pub fn api(&self) -> &Client {
        &self.app.client
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// Registers `email` through msgctl with --login; returns the generated password.
    pub fn register_and_login(&self, email: &str) -> String {
        let out = run(self.msgctl().args(["--json", "register", email, "--login"]));
        assert_exit(&out, 0);
        json(&out)["generated_password"].as_str().unwrap().to_owned()
    }
}

pub fn run(command: &mut assert_cmd::Command) -> Output {
    command.output().expect("running msgctl")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

pub fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "exit code\n--- stdout\n{}\n--- stderr\n{}", stdout(out), stderr(out));
    assert!(!stderr(out).contains("panicked"), "{}", stderr(out));
}
