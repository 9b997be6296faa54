
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Who you are, on which server and profile, and your unread messages by sender')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the password, and stay logged in with the new one')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List messages, oldest first: the most recent page of the inbox by default')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List messages, oldest first: the most recent page of the inbox by default')
            [CompletionResult]::new('read', 'read', [CompletionResultType]::ParameterValue, 'Mark messages to you read: those named, all of them (--all), or all from one account (--with). Your other devices see it at once')
            [CompletionResult]::new('unread', 'unread', [CompletionResultType]::ParameterValue, 'Mark messages to you unread again')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete messages: your copy (the other party keeps theirs), or with --for-everyone, as their sender, both copies (within the server''s DELETE_WINDOW, 24 h by default). Asks first; --yes for scripts')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it')
            [CompletionResult]::new('tokens', 'tokens', [CompletionResultType]::ParameterValue, 'Access tokens for scripts: long-lived, limited to scopes, revocable one by one')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'List the cached logins: profile, server, account and expiry; `*` marks the one in use')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script: bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('admin', 'admin', [CompletionResultType]::ParameterValue, 'Administer accounts (administrators only)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;register' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--everywhere', '--everywhere', [CompletionResultType]::ParameterName, 'End every login session of the account, on every device (access tokens keep working: add --tokens)')
            [CompletionResult]::new('--tokens', '--tokens', [CompletionResultType]::ParameterName, 'With --everywhere: revoke every access token of the account too')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'The message expires this long after it is sent, for everyone: a number and a unit (s, m, h, d, w or y), such as 7d')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--sent', '--sent', [CompletionResultType]::ParameterName, 'Messages you sent instead of your inbox (with --with: those you sent that account)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every message from the first (or from --after), following the server''s pages')
            [CompletionResult]::new('--unread', '--unread', [CompletionResultType]::ParameterName, 'Only messages to you that you have not read (in the normal listing, `•` marks them)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--sent', '--sent', [CompletionResultType]::ParameterName, 'Messages you sent instead of your inbox (with --with: those you sent that account)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every message from the first (or from --after), following the server''s pages')
            [CompletionResult]::new('--unread', '--unread', [CompletionResultType]::ParameterName, 'Only messages to you that you have not read (in the normal listing, `•` marks them)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;read' {
            [CompletionResult]::new('--with', '--with', [CompletionResultType]::ParameterName, 'Every message to you from this account')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every message to you')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;unread' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;delete' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--for-everyone', '--for-everyone', [CompletionResultType]::ParameterName, 'Delete the recipient''s copy too (you must be the sender)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Do not ask')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;tokens' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create an access token; prints it once. Needs a login (not an access token) and the password')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your access tokens: name, scopes, expiry, last use (never the secrets)')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List your access tokens: name, scopes, expiry, last use (never the secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke an access token, by id or by name: it is refused at once')
            [CompletionResult]::new('rm', 'rm', [CompletionResultType]::ParameterValue, 'Revoke an access token, by id or by name: it is refused at once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;tokens;create' {
            [CompletionResult]::new('--scope', '--scope', [CompletionResultType]::ParameterName, 'What it may do: read (list, watch, whoami), send, admin (administrators); comma-separated')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'How long it lasts: a number and m, h, d, w or y, e.g. 30d (default: until revoked)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read the password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;tokens;list' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;tokens;ls' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;tokens;revoke' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Revoke every access token of the account')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;tokens;rm' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Revoke every access token of the account')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;tokens;help' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create an access token; prints it once. Needs a login (not an access token) and the password')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your access tokens: name, scopes, expiry, last use (never the secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke an access token, by id or by name: it is refused at once')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;tokens;help;create' {
            break
        }
        'msgctl;tokens;help;list' {
            break
        }
        'msgctl;tokens;help;revoke' {
            break
        }
        'msgctl;tokens;help;help' {
            break
        }
        'msgctl;profiles' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
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
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`')
            [CompletionResult]::new('deactivate', 'deactivate', [CompletionResultType]::ParameterValue, 'Deactivate an account: every session and token of it is refused at once; it cannot log in')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'Activate a deactivated account again (its owner logs in anew)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an account and every message it sent or received. Asks first; --yes for scripts')
            [CompletionResult]::new('reset-password', 'reset-password', [CompletionResultType]::ParameterValue, 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s failed-login counters, so its owner can log in at once')
            [CompletionResult]::new('set-role', 'set-role', [CompletionResultType]::ParameterValue, 'Make an account an administrator (asks for your password), or a user again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;admin;users' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`')
            [CompletionResult]::new('deactivate', 'deactivate', [CompletionResultType]::ParameterValue, 'Deactivate an account: every session and token of it is refused at once; it cannot log in')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'Activate a deactivated account again (its owner logs in anew)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an account and every message it sent or received. Asks first; --yes for scripts')
            [CompletionResult]::new('reset-password', 'reset-password', [CompletionResultType]::ParameterValue, 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s failed-login counters, so its owner can log in at once')
            [CompletionResult]::new('set-role', 'set-role', [CompletionResultType]::ParameterValue, 'Make an account an administrator (asks for your password), or a user again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;admin;users;list' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Only emails starting with this')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many (1-1000 on a page; default 100); with --all, at most this many in all')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--deactivated', '--deactivated', [CompletionResultType]::ParameterName, 'Only deactivated accounts')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every account, following the server''s pages')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;ls' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Only emails starting with this')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many (1-1000 on a page; default 100); with --all, at most this many in all')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--deactivated', '--deactivated', [CompletionResultType]::ParameterName, 'Only deactivated accounts')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every account, following the server''s pages')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;create' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'One email a line (`-`: stdin); blank lines and lines starting with # are skipped')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Make them administrators (asks for your password)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'With --admin: read your password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;deactivate' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;activate' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;delete' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask (needed without a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;reset-password' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read your password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;unlock' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;set-role' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Making an administrator: read your password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;users;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`')
            [CompletionResult]::new('deactivate', 'deactivate', [CompletionResultType]::ParameterValue, 'Deactivate an account: every session and token of it is refused at once; it cannot log in')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'Activate a deactivated account again (its owner logs in anew)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an account and every message it sent or received. Asks first; --yes for scripts')
            [CompletionResult]::new('reset-password', 'reset-password', [CompletionResultType]::ParameterValue, 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s failed-login counters, so its owner can log in at once')
            [CompletionResult]::new('set-role', 'set-role', [CompletionResultType]::ParameterValue, 'Make an account an administrator (asks for your password), or a user again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;admin;users;help;list' {
            break
        }
        'msgctl;admin;users;help;create' {
            break
        }
        'msgctl;admin;users;help;deactivate' {
            break
        }
        'msgctl;admin;users;help;activate' {
            break
        }
        'msgctl;admin;users;help;delete' {
            break
        }
        'msgctl;admin;users;help;reset-password' {
            break
        }
        'msgctl;admin;users;help;unlock' {
            break
        }
        'msgctl;admin;users;help;set-role' {
            break
        }
        'msgctl;admin;users;help;help' {
            break
        }
        'msgctl;admin;list' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Only emails starting with this')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many (1-1000 on a page; default 100); with --all, at most this many in all')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--deactivated', '--deactivated', [CompletionResultType]::ParameterName, 'Only deactivated accounts')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every account, following the server''s pages')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;ls' {
            [CompletionResult]::new('--email', '--email', [CompletionResultType]::ParameterName, 'Only emails starting with this')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'How many (1-1000 on a page; default 100); with --all, at most this many in all')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--deactivated', '--deactivated', [CompletionResultType]::ParameterName, 'Only deactivated accounts')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every account, following the server''s pages')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;create' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'One email a line (`-`: stdin); blank lines and lines starting with # are skipped')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--admin', '--admin', [CompletionResultType]::ParameterName, 'Make them administrators (asks for your password)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'With --admin: read your password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;deactivate' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;activate' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;delete' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask (needed without a terminal)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;reset-password' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Read your password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;unlock' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;set-role' {
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The msgd server (http:// is assumed when no scheme is given)')
            [CompletionResult]::new('--profile', '--profile', [CompletionResultType]::ParameterName, 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)')
            [CompletionResult]::new('--password-stdin', '--password-stdin', [CompletionResultType]::ParameterName, 'Making an administrator: read your password from the first line of stdin instead of prompting')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print only what a script needs: no status lines')
            [CompletionResult]::new('--no-input', '--no-input', [CompletionResultType]::ParameterName, 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'msgctl;admin;help' {
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`')
            [CompletionResult]::new('deactivate', 'deactivate', [CompletionResultType]::ParameterValue, 'Deactivate an account: every session and token of it is refused at once; it cannot log in')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'Activate a deactivated account again (its owner logs in anew)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an account and every message it sent or received. Asks first; --yes for scripts')
            [CompletionResult]::new('reset-password', 'reset-password', [CompletionResultType]::ParameterValue, 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s failed-login counters, so its owner can log in at once')
            [CompletionResult]::new('set-role', 'set-role', [CompletionResultType]::ParameterValue, 'Make an account an administrator (asks for your password), or a user again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'msgctl;admin;help;users' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`')
            [CompletionResult]::new('deactivate', 'deactivate', [CompletionResultType]::ParameterValue, 'Deactivate an account: every session and token of it is refused at once; it cannot log in')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'Activate a deactivated account again (its owner logs in anew)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an account and every message it sent or received. Asks first; --yes for scripts')
            [CompletionResult]::new('reset-password', 'reset-password', [CompletionResultType]::ParameterValue, 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s failed-login counters, so its owner can log in at once')
            [CompletionResult]::new('set-role', 'set-role', [CompletionResultType]::ParameterValue, 'Make an account an administrator (asks for your password), or a user again')
            break
        }
        'msgctl;admin;help;users;list' {
            break
        }
        'msgctl;admin;help;users;create' {
            break
        }
        'msgctl;admin;help;users;deactivate' {
            break
        }
        'msgctl;admin;help;users;activate' {
            break
        }
        'msgctl;admin;help;users;delete' {
            break
        }
        'msgctl;admin;help;users;reset-password' {
            break
        }
        'msgctl;admin;help;users;unlock' {
            break
        }
        'msgctl;admin;help;users;set-role' {
            break
        }
        'msgctl;admin;help;list' {
            break
        }
        'msgctl;admin;help;create' {
            break
        }
        'msgctl;admin;help;deactivate' {
            break
        }
        'msgctl;admin;help;activate' {
            break
        }
        'msgctl;admin;help;delete' {
            break
        }
        'msgctl;admin;help;reset-password' {
            break
        }
        'msgctl;admin;help;unlock' {
            break
        }
        'msgctl;admin;help;set-role' {
            break
        }
        'msgctl;admin;help;help' {
            break
        }
        'msgctl;help' {
            [CompletionResult]::new('register', 'register', [CompletionResultType]::ParameterValue, 'Create an account; prints its generated password once')
            [CompletionResult]::new('login', 'login', [CompletionResultType]::ParameterValue, 'Log in and cache the token for this server')
            [CompletionResult]::new('logout', 'logout', [CompletionResultType]::ParameterValue, 'Log out: end this session on the server (its token stops working) and forget it here')
            [CompletionResult]::new('whoami', 'whoami', [CompletionResultType]::ParameterValue, 'Show the server, the account and when the token expires; exit 3 when not logged in')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Who you are, on which server and profile, and your unread messages by sender')
            [CompletionResult]::new('passwd', 'passwd', [CompletionResultType]::ParameterValue, 'Change the password, and stay logged in with the new one')
            [CompletionResult]::new('send', 'send', [CompletionResultType]::ParameterValue, 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List messages, oldest first: the most recent page of the inbox by default')
            [CompletionResult]::new('read', 'read', [CompletionResultType]::ParameterValue, 'Mark messages to you read: those named, all of them (--all), or all from one account (--with). Your other devices see it at once')
            [CompletionResult]::new('unread', 'unread', [CompletionResultType]::ParameterValue, 'Mark messages to you unread again')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete messages: your copy (the other party keeps theirs), or with --for-everyone, as their sender, both copies (within the server''s DELETE_WINDOW, 24 h by default). Asks first; --yes for scripts')
            [CompletionResult]::new('watch', 'watch', [CompletionResultType]::ParameterValue, 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any')
            [CompletionResult]::new('token', 'token', [CompletionResultType]::ParameterValue, 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it')
            [CompletionResult]::new('tokens', 'tokens', [CompletionResultType]::ParameterValue, 'Access tokens for scripts: long-lived, limited to scopes, revocable one by one')
            [CompletionResult]::new('profiles', 'profiles', [CompletionResultType]::ParameterValue, 'List the cached logins: profile, server, account and expiry; `*` marks the one in use')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script: bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('admin', 'admin', [CompletionResultType]::ParameterValue, 'Administer accounts (administrators only)')
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
        'msgctl;help;status' {
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
        'msgctl;help;read' {
            break
        }
        'msgctl;help;unread' {
            break
        }
        'msgctl;help;delete' {
            break
        }
        'msgctl;help;watch' {
            break
        }
        'msgctl;help;token' {
            break
        }
        'msgctl;help;tokens' {
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create an access token; prints it once. Needs a login (not an access token) and the password')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List your access tokens: name, scopes, expiry, last use (never the secrets)')
            [CompletionResult]::new('revoke', 'revoke', [CompletionResultType]::ParameterValue, 'Revoke an access token, by id or by name: it is refused at once')
            break
        }
        'msgctl;help;tokens;create' {
            break
        }
        'msgctl;help;tokens;list' {
            break
        }
        'msgctl;help;tokens;revoke' {
            break
        }
        'msgctl;help;profiles' {
            break
        }
        'msgctl;help;completions' {
            break
        }
        'msgctl;help;admin' {
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`')
            [CompletionResult]::new('deactivate', 'deactivate', [CompletionResultType]::ParameterValue, 'Deactivate an account: every session and token of it is refused at once; it cannot log in')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'Activate a deactivated account again (its owner logs in anew)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an account and every message it sent or received. Asks first; --yes for scripts')
            [CompletionResult]::new('reset-password', 'reset-password', [CompletionResultType]::ParameterValue, 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s failed-login counters, so its owner can log in at once')
            [CompletionResult]::new('set-role', 'set-role', [CompletionResultType]::ParameterValue, 'Make an account an administrator (asks for your password), or a user again')
            break
        }
        'msgctl;help;admin;users' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List accounts, in email order: the first 100 unless --all')
            [CompletionResult]::new('create', 'create', [CompletionResultType]::ParameterValue, 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`')
            [CompletionResult]::new('deactivate', 'deactivate', [CompletionResultType]::ParameterValue, 'Deactivate an account: every session and token of it is refused at once; it cannot log in')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'Activate a deactivated account again (its owner logs in anew)')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete an account and every message it sent or received. Asks first; --yes for scripts')
            [CompletionResult]::new('reset-password', 'reset-password', [CompletionResultType]::ParameterValue, 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)')
            [CompletionResult]::new('unlock', 'unlock', [CompletionResultType]::ParameterValue, 'Clear an account''s failed-login counters, so its owner can log in at once')
            [CompletionResult]::new('set-role', 'set-role', [CompletionResultType]::ParameterValue, 'Make an account an administrator (asks for your password), or a user again')
            break
        }
        'msgctl;help;admin;users;list' {
            break
        }
        'msgctl;help;admin;users;create' {
            break
        }
        'msgctl;help;admin;users;deactivate' {
            break
        }
        'msgctl;help;admin;users;activate' {
            break
        }
        'msgctl;help;admin;users;delete' {
            break
        }
        'msgctl;help;admin;users;reset-password' {
            break
        }
        'msgctl;help;admin;users;unlock' {
            break
        }
        'msgctl;help;admin;users;set-role' {
            break
        }
        'msgctl;help;admin;list' {
            break
        }
        'msgctl;help;admin;create' {
            break
        }
        'msgctl;help;admin;deactivate' {
            break
        }
        'msgctl;help;admin;activate' {
            break
        }
        'msgctl;help;admin;delete' {
            break
        }
        'msgctl;help;admin;reset-password' {
            break
        }
        'msgctl;help;admin;unlock' {
            break
        }
        'msgctl;help;admin;set-role' {
            break
        }
        'msgctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
