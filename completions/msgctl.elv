
use builtin;
use str;

set edit:completion:arg-completer[msgctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'msgctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'msgctl'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand register 'Create an account; prints its generated password once'
            cand login 'Log in and cache the token for this server'
            cand logout 'Log out: end this session on the server (its token stops working) and forget it here'
            cand whoami 'Show the server, the account and when the token expires; exit 3 when not logged in'
            cand status 'Show the server, the account and when the token expires; exit 3 when not logged in'
            cand passwd 'Change the password, and stay logged in with the new one'
            cand send 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
            cand list 'List messages, oldest first: the most recent page of the inbox by default'
            cand ls 'List messages, oldest first: the most recent page of the inbox by default'
            cand watch 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
            cand token 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
            cand completions 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;register'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --login 'Also log in and cache the token, so the password need not be typed'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;login'= {
            cand --email 'The account''s email (default: the one last logged in here; prompted for when missing)'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --password-stdin 'Read the password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;logout'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --everywhere 'Revoke every token of the account on the server: log out of every device and script'
            cand --local 'Only forget the token here, without asking the server to end the session'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;whoami'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;status'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;passwd'= {
            cand --email 'The account''s email (default: the logged-in account)'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --password-stdin 'Read two lines from stdin: the current password, then the new one'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;send'= {
            cand --to 'The recipient''s email (default: yourself)'
            cand --file 'Send each non-blank line of FILE (`-`: stdin) as a message. Re-running the same file sends only the lines not sent yet'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;list'= {
            cand --limit 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all'
            cand --with 'Only the conversation with this account, both directions'
            cand --after 'Only messages after this message id (a page further on)'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --sent 'Messages you sent instead of your inbox (with --with: those you sent that account)'
            cand --all 'Every message from the first (or from --after), following the server''s pages'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;ls'= {
            cand --limit 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all'
            cand --with 'Only the conversation with this account, both directions'
            cand --after 'Only messages after this message id (a page further on)'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --sent 'Messages you sent instead of your inbox (with --with: those you sent that account)'
            cand --all 'Every message from the first (or from --after), following the server''s pages'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;watch'= {
            cand --after 'Start after this message id instead of from now'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;token'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;completions'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;help'= {
            cand register 'Create an account; prints its generated password once'
            cand login 'Log in and cache the token for this server'
            cand logout 'Log out: end this session on the server (its token stops working) and forget it here'
            cand whoami 'Show the server, the account and when the token expires; exit 3 when not logged in'
            cand passwd 'Change the password, and stay logged in with the new one'
            cand send 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
            cand list 'List messages, oldest first: the most recent page of the inbox by default'
            cand watch 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
            cand token 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
            cand completions 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;help;register'= {
        }
        &'msgctl;help;login'= {
        }
        &'msgctl;help;logout'= {
        }
        &'msgctl;help;whoami'= {
        }
        &'msgctl;help;passwd'= {
        }
        &'msgctl;help;send'= {
        }
        &'msgctl;help;list'= {
        }
        &'msgctl;help;watch'= {
        }
        &'msgctl;help;token'= {
        }
        &'msgctl;help;completions'= {
        }
        &'msgctl;help;help'= {
        }
    ]
    $completions[$command]
}
