//! The committed completion scripts are what msgctl generates. Regenerate with `scripts/completions`.

use crate::{assert_exit, run};

#[test]
fn the_committed_completion_scripts_are_up_to_date() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("completions");
    for (shell, file) in [
        ("bash", "msgctl.bash"),
        ("zsh", "_msgctl"),
        ("fish", "msgctl.fish"),
        ("powershell", "_msgctl.ps1"),
        ("elvish", "msgctl.elv"),
    ] {
        let out = run(assert_cmd::Command::new(env!("CARGO_BIN_EXE_msgctl")).args(["completions", shell]));
        assert_exit(&out, 0);
        let committed = std::fs::read(dir.join(file)).unwrap_or_default();
        assert!(
            committed == out.stdout,
            "completions/{file} differs from `msgctl completions {shell}`; run scripts/completions and commit"
        );
    }
}
