
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
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
            cand status 'Who you are, on which server and profile, and your unread messages by sender'
            cand passwd 'Change the password, and stay logged in with the new one'
            cand send 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
            cand list 'List messages, oldest first: the most recent page of the inbox by default'
            cand ls 'List messages, oldest first: the most recent page of the inbox by default'
            cand read 'Mark messages to you read: those named, all of them (--all), or all from one account (--with). Your other devices see it at once'
            cand unread 'Mark messages to you unread again'
            cand delete 'Delete messages: your copy (the other party keeps theirs), or with --for-everyone, as their sender, both copies (within the server''s DELETE_WINDOW, 24 h by default). Asks first; --yes for scripts'
            cand watch 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
            cand token 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
            cand tokens 'Access tokens for scripts: long-lived, limited to scopes, revocable one by one'
            cand profiles 'List the cached logins: profile, server, account and expiry; `*` marks the one in use'
            cand completions 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
            cand admin 'Administer accounts (administrators only)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;register'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --everywhere 'End every login session of the account, on every device (access tokens keep working: add --tokens)'
            cand --tokens 'With --everywhere: revoke every access token of the account too'
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;status'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
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
            cand --expires 'The message expires this long after it is sent, for everyone: a number and a unit (s, m, h, d, w or y), such as 7d'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --sent 'Messages you sent instead of your inbox (with --with: those you sent that account)'
            cand --all 'Every message from the first (or from --after), following the server''s pages'
            cand --unread 'Only messages to you that you have not read (in the normal listing, `•` marks them)'
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --sent 'Messages you sent instead of your inbox (with --with: those you sent that account)'
            cand --all 'Every message from the first (or from --after), following the server''s pages'
            cand --unread 'Only messages to you that you have not read (in the normal listing, `•` marks them)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;read'= {
            cand --with 'Every message to you from this account'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --all 'Every message to you'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;unread'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;delete'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --for-everyone 'Delete the recipient''s copy too (you must be the sender)'
            cand -y 'Do not ask'
            cand --yes 'Do not ask'
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
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;token'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;tokens'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
            cand create 'Create an access token; prints it once. Needs a login (not an access token) and the password'
            cand list 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
            cand ls 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
            cand revoke 'Revoke an access token, by id or by name: it is refused at once'
            cand rm 'Revoke an access token, by id or by name: it is refused at once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;tokens;create'= {
            cand --scope 'What it may do: read (list, watch, whoami), send, admin (administrators); comma-separated'
            cand --expires 'How long it lasts: a number and m, h, d, w or y, e.g. 30d (default: until revoked)'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --password-stdin 'Read the password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;tokens;list'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;tokens;ls'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;tokens;revoke'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --all 'Revoke every access token of the account'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;tokens;rm'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --all 'Revoke every access token of the account'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;tokens;help'= {
            cand create 'Create an access token; prints it once. Needs a login (not an access token) and the password'
            cand list 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
            cand revoke 'Revoke an access token, by id or by name: it is refused at once'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;tokens;help;create'= {
        }
        &'msgctl;tokens;help;list'= {
        }
        &'msgctl;tokens;help;revoke'= {
        }
        &'msgctl;tokens;help;help'= {
        }
        &'msgctl;profiles'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;completions'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
            cand users 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role'
            cand list 'List accounts, in email order: the first 100 unless --all'
            cand ls 'List accounts, in email order: the first 100 unless --all'
            cand create 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
            cand deactivate 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
            cand activate 'Activate a deactivated account again (its owner logs in anew)'
            cand delete 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
            cand reset-password 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
            cand unlock 'Clear an account''s failed-login counters, so its owner can log in at once'
            cand set-role 'Make an account an administrator (asks for your password), or a user again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;admin;users'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
            cand list 'List accounts, in email order: the first 100 unless --all'
            cand ls 'List accounts, in email order: the first 100 unless --all'
            cand create 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
            cand deactivate 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
            cand activate 'Activate a deactivated account again (its owner logs in anew)'
            cand delete 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
            cand reset-password 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
            cand unlock 'Clear an account''s failed-login counters, so its owner can log in at once'
            cand set-role 'Make an account an administrator (asks for your password), or a user again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;admin;users;list'= {
            cand --email 'Only emails starting with this'
            cand --limit 'How many (1-1000 on a page; default 100); with --all, at most this many in all'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --deactivated 'Only deactivated accounts'
            cand --all 'Every account, following the server''s pages'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;ls'= {
            cand --email 'Only emails starting with this'
            cand --limit 'How many (1-1000 on a page; default 100); with --all, at most this many in all'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --deactivated 'Only deactivated accounts'
            cand --all 'Every account, following the server''s pages'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;create'= {
            cand --file 'One email a line (`-`: stdin); blank lines and lines starting with # are skipped'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --admin 'Make them administrators (asks for your password)'
            cand --password-stdin 'With --admin: read your password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;deactivate'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;activate'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;delete'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --yes 'Do not ask (needed without a terminal)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;reset-password'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --password-stdin 'Read your password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;unlock'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;set-role'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --password-stdin 'Making an administrator: read your password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;users;help'= {
            cand list 'List accounts, in email order: the first 100 unless --all'
            cand create 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
            cand deactivate 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
            cand activate 'Activate a deactivated account again (its owner logs in anew)'
            cand delete 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
            cand reset-password 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
            cand unlock 'Clear an account''s failed-login counters, so its owner can log in at once'
            cand set-role 'Make an account an administrator (asks for your password), or a user again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;admin;users;help;list'= {
        }
        &'msgctl;admin;users;help;create'= {
        }
        &'msgctl;admin;users;help;deactivate'= {
        }
        &'msgctl;admin;users;help;activate'= {
        }
        &'msgctl;admin;users;help;delete'= {
        }
        &'msgctl;admin;users;help;reset-password'= {
        }
        &'msgctl;admin;users;help;unlock'= {
        }
        &'msgctl;admin;users;help;set-role'= {
        }
        &'msgctl;admin;users;help;help'= {
        }
        &'msgctl;admin;list'= {
            cand --email 'Only emails starting with this'
            cand --limit 'How many (1-1000 on a page; default 100); with --all, at most this many in all'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --deactivated 'Only deactivated accounts'
            cand --all 'Every account, following the server''s pages'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;ls'= {
            cand --email 'Only emails starting with this'
            cand --limit 'How many (1-1000 on a page; default 100); with --all, at most this many in all'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --deactivated 'Only deactivated accounts'
            cand --all 'Every account, following the server''s pages'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;create'= {
            cand --file 'One email a line (`-`: stdin); blank lines and lines starting with # are skipped'
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --admin 'Make them administrators (asks for your password)'
            cand --password-stdin 'With --admin: read your password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;deactivate'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;activate'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;delete'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --yes 'Do not ask (needed without a terminal)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;reset-password'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --password-stdin 'Read your password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;unlock'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;set-role'= {
            cand --server 'The msgd server (http:// is assumed when no scheme is given)'
            cand --profile 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)'
            cand --password-stdin 'Making an administrator: read your password from the first line of stdin instead of prompting'
            cand --json 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
            cand -q 'Print only what a script needs: no status lines'
            cand --quiet 'Print only what a script needs: no status lines'
            cand --no-input 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'msgctl;admin;help'= {
            cand users 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role'
            cand list 'List accounts, in email order: the first 100 unless --all'
            cand create 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
            cand deactivate 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
            cand activate 'Activate a deactivated account again (its owner logs in anew)'
            cand delete 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
            cand reset-password 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
            cand unlock 'Clear an account''s failed-login counters, so its owner can log in at once'
            cand set-role 'Make an account an administrator (asks for your password), or a user again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'msgctl;admin;help;users'= {
            cand list 'List accounts, in email order: the first 100 unless --all'
            cand create 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
            cand deactivate 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
            cand activate 'Activate a deactivated account again (its owner logs in anew)'
            cand delete 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
            cand reset-password 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
            cand unlock 'Clear an account''s failed-login counters, so its owner can log in at once'
            cand set-role 'Make an account an administrator (asks for your password), or a user again'
        }
        &'msgctl;admin;help;users;list'= {
        }
        &'msgctl;admin;help;users;create'= {
        }
        &'msgctl;admin;help;users;deactivate'= {
        }
        &'msgctl;admin;help;users;activate'= {
        }
        &'msgctl;admin;help;users;delete'= {
        }
        &'msgctl;admin;help;users;reset-password'= {
        }
        &'msgctl;admin;help;users;unlock'= {
        }
        &'msgctl;admin;help;users;set-role'= {
        }
        &'msgctl;admin;help;list'= {
        }
        &'msgctl;admin;help;create'= {
        }
        &'msgctl;admin;help;deactivate'= {
        }
        &'msgctl;admin;help;activate'= {
        }
        &'msgctl;admin;help;delete'= {
        }
        &'msgctl;admin;help;reset-password'= {
        }
        &'msgctl;admin;help;unlock'= {
        }
        &'msgctl;admin;help;set-role'= {
        }
        &'msgctl;admin;help;help'= {
        }
        &'msgctl;help'= {
            cand register 'Create an account; prints its generated password once'
            cand login 'Log in and cache the token for this server'
            cand logout 'Log out: end this session on the server (its token stops working) and forget it here'
            cand whoami 'Show the server, the account and when the token expires; exit 3 when not logged in'
            cand status 'Who you are, on which server and profile, and your unread messages by sender'
            cand passwd 'Change the password, and stay logged in with the new one'
            cand send 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
            cand list 'List messages, oldest first: the most recent page of the inbox by default'
            cand read 'Mark messages to you read: those named, all of them (--all), or all from one account (--with). Your other devices see it at once'
            cand unread 'Mark messages to you unread again'
            cand delete 'Delete messages: your copy (the other party keeps theirs), or with --for-everyone, as their sender, both copies (within the server''s DELETE_WINDOW, 24 h by default). Asks first; --yes for scripts'
            cand watch 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
            cand token 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
            cand tokens 'Access tokens for scripts: long-lived, limited to scopes, revocable one by one'
            cand profiles 'List the cached logins: profile, server, account and expiry; `*` marks the one in use'
            cand completions 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
            cand admin 'Administer accounts (administrators only)'
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
        &'msgctl;help;status'= {
        }
        &'msgctl;help;passwd'= {
        }
        &'msgctl;help;send'= {
        }
        &'msgctl;help;list'= {
        }
        &'msgctl;help;read'= {
        }
        &'msgctl;help;unread'= {
        }
        &'msgctl;help;delete'= {
        }
        &'msgctl;help;watch'= {
        }
        &'msgctl;help;token'= {
        }
        &'msgctl;help;tokens'= {
            cand create 'Create an access token; prints it once. Needs a login (not an access token) and the password'
            cand list 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
            cand revoke 'Revoke an access token, by id or by name: it is refused at once'
        }
        &'msgctl;help;tokens;create'= {
        }
        &'msgctl;help;tokens;list'= {
        }
        &'msgctl;help;tokens;revoke'= {
        }
        &'msgctl;help;profiles'= {
        }
        &'msgctl;help;completions'= {
        }
        &'msgctl;help;admin'= {
            cand users 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role'
            cand list 'List accounts, in email order: the first 100 unless --all'
            cand create 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
            cand deactivate 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
            cand activate 'Activate a deactivated account again (its owner logs in anew)'
            cand delete 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
            cand reset-password 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
            cand unlock 'Clear an account''s failed-login counters, so its owner can log in at once'
            cand set-role 'Make an account an administrator (asks for your password), or a user again'
        }
        &'msgctl;help;admin;users'= {
            cand list 'List accounts, in email order: the first 100 unless --all'
            cand create 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
            cand deactivate 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
            cand activate 'Activate a deactivated account again (its owner logs in anew)'
            cand delete 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
            cand reset-password 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
            cand unlock 'Clear an account''s failed-login counters, so its owner can log in at once'
            cand set-role 'Make an account an administrator (asks for your password), or a user again'
        }
        &'msgctl;help;admin;users;list'= {
        }
        &'msgctl;help;admin;users;create'= {
        }
        &'msgctl;help;admin;users;deactivate'= {
        }
        &'msgctl;help;admin;users;activate'= {
        }
        &'msgctl;help;admin;users;delete'= {
        }
        &'msgctl;help;admin;users;reset-password'= {
        }
        &'msgctl;help;admin;users;unlock'= {
        }
        &'msgctl;help;admin;users;set-role'= {
        }
        &'msgctl;help;admin;list'= {
        }
        &'msgctl;help;admin;create'= {
        }
        &'msgctl;help;admin;deactivate'= {
        }
        &'msgctl;help;admin;activate'= {
        }
        &'msgctl;help;admin;delete'= {
        }
        &'msgctl;help;admin;reset-password'= {
        }
        &'msgctl;help;admin;unlock'= {
        }
        &'msgctl;help;admin;set-role'= {
        }
        &'msgctl;help;help'= {
        }
    ]
    $completions[$command]
}
