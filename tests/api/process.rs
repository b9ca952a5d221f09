//! `harmony serve` as a real process ("a node"), for the tests that need several nodes,
//! signals or a crash: started on a given database, its address read from its JSON log.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_harmony");

/// A running `harmony serve`.
pub struct Node {
    pub child: Child,
    pub base: String,
}

/// `harmony` with cheap hashing and the given database.
pub fn command(database_url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env("HARMONY_DATABASE_URL", database_url)
        .env("HARMONY_ARGON2_MEMORY_KIB", "1024")
        .env("HARMONY_ARGON2_ITERATIONS", "1")
        .env("HARMONY_LOG", "warn")
        .kill_on_drop(true);
    cmd
}

impl Node {
    /// Starts a node on `database_url` with extra environment, waits until it listens.
    pub async fn start(database_url: &str, env: &[(&str, &str)]) -> Node {
        let mut cmd = command(database_url);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("HARMONY_LOG", "info")
            .env("HARMONY_LOG_FORMAT", "json")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn harmony serve");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                let Ok(log) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if log["fields"]["message"] == "harmony is listening" {
                    return log["fields"]["address"].as_str().unwrap().to_owned();
                }
            }
            panic!("harmony exited before listening");
        })
        .await
        .expect("harmony did not start in time");
        // Keep draining the log so that the node never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Node {
            child,
            base: format!("http://{address}"),
        }
    }

    /// An absolute URL on this node.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends SIGTERM (graceful shutdown).
    pub fn terminate(&self) {
        let pid = self.child.id().expect("running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }
}
