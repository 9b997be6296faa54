
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'msgctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'msgctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'msgctl' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('register', 'register', [CompletionResultType]::ParameterValue, 'Create an account; prints its generated password once')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in and cache the token for this server')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Log out: end this session on the server (its token stops working) and forget it here')
            [CompletionResult]::new('whoami', 'whoami', [CompletionResultType]::ParameterValue, 'Show the server, the account and when the token expires; exit 3 when not logged in')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show the server, the account and when the token expires; exit 3 when not logged in')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the password, and stay logged in with the new one')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List messages, oldest first: the most recent page of the inbox by default')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List messages, oldest first: the most recent page of the inbox by default')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script: bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;register' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--login', '--login', [CompletionResultType]::ParameterName, 'Also log in and cache the token, so the password need not be typed')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;login' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'The account''s email (default: the one last logged in here; prompted for when missing)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;logout' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--everywhere', '--everywhere', [CompletionResultType]::ParameterName, 'Revoke every token of the account on the server: log out of every device and script')
            [CompletionResult]::new('--local', '--local', [CompletionResultType]::ParameterName, 'Only forget the token here, without asking the server to end the session')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;whoami' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;status' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;passwd' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'The account''s email (default: the logged-in account)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read two lines from stdin: the current password, then the new one')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;send' {
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The recipient''s email (default: yourself)')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Send each non-blank line of FILE (`-`: stdin) as a message. Re-running the same file sends only the lines not sent yet')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;list' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all')
            [CompletionResult]::new('--with', '--with', [CompletionResultType]::ParameterName, 'Only the conversation with this account, both directions')
            [CompletionResult]::new('--after', '--after', [CompletionResultType]::ParameterName, 'Only messages after this message id (a page further on)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--sent', '--sent', [CompletionResultType]::ParameterName, 'Messages you sent instead of your inbox (with --with: those you sent that account)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every message from the first (or from --after), following the server''s pages')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;ls' {
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all')
            [CompletionResult]::new('--with', '--with', [CompletionResultType]::ParameterName, 'Only the conversation with this account, both directions')
            [CompletionResult]::new('--after', '--after', [CompletionResultType]::ParameterName, 'Only messages after this message id (a page further on)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--sent', '--sent', [CompletionResultType]::ParameterName, 'Messages you sent instead of your inbox (with --with: those you sent that account)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every message from the first (or from --after), following the server''s pages')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;watch' {
            [CompletionResult]::new('--after', '--after', [CompletionResultType]::ParameterName, 'Start after this message id instead of from now')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;token' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;completions' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;help' {
            [CompletionResult]::new('register', 'register', [CompletionResultType]::ParameterValue, 'Create an account; prints its generated password once')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in and cache the token for this server')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Log out: end this session on the server (its token stops working) and forget it here')
            [CompletionResult]::new('whoami', 'whoami', [CompletionResultType]::ParameterValue, 'Show the server, the account and when the token expires; exit 3 when not logged in')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the password, and stay logged in with the new one')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List messages, oldest first: the most recent page of the inbox by default')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script: bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;help;register' {
            break
        }
        'msgctl;help;login' {
            break
        }
        'msgctl;help;logout' {
            break
        }
        'msgctl;help;whoami' {
            break
        }
        'msgctl;help;passwd' {
            break
        }
        'msgctl;help;send' {
            break
        }
        'msgctl;help;list' {
            break
        }
        'msgctl;help;watch' {
            break
        }
        'msgctl;help;token' {
            break
        }
        'msgctl;help;completions' {
            break
        }
        'msgctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
