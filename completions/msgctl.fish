# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_msgctl_global_optspecs
    string join \n server= json q/quiet no-input profile= h/help V/version
end

function __fish_msgctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_msgctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_msgctl_using_subcommand
    set -l cmd (__fish_msgctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c msgctl -n "__fish_msgctl_needs_command" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_needs_command" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_needs_command" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_needs_command" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_needs_command" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c msgctl -n "__fish_msgctl_needs_command" -s V -l version -d 'Print version'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "register" -d 'Create an account; prints its generated password once'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "login" -d 'Log in and cache the token for this server'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "logout" -d 'Log out: end this session on the server (its token stops working) and forget it here'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "whoami" -d 'Show the server, the account and when the token expires; exit 3 when not logged in'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "status" -d 'Who you are, on which server and profile, and your unread messages by sender'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "passwd" -d 'Change the password, and stay logged in with the new one'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "send" -d 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "list" -d 'List messages, oldest first: the most recent page of the inbox by default'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "ls" -d 'List messages, oldest first: the most recent page of the inbox by default'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "read" -d 'Mark messages to you read: those named, all of them (--all), or all from one account (--with). Your other devices see it at once'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "unread" -d 'Mark messages to you unread again'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "delete" -d 'Delete messages: your copy (the other party keeps theirs), or with --for-everyone, as their sender, both copies (within the server\'s DELETE_WINDOW, 24 h by default). Asks first; --yes for scripts'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "watch" -d 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "token" -d 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "tokens" -d 'Access tokens for scripts: long-lived, limited to scopes, revocable one by one'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "profiles" -d 'List the cached logins: profile, server, account and expiry; `*` marks the one in use'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "completions" -d 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "admin" -d 'Administer accounts (administrators only)'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l login -d 'Also log in and cache the token, so the password need not be typed'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l email -d 'The account\'s email (default: the one last logged in here; prompted for when missing)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l password-stdin -d 'Read the password from the first line of stdin instead of prompting'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l everywhere -d 'End every login session of the account, on every device (access tokens keep working: add --tokens)'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l tokens -d 'With --everywhere: revoke every access token of the account too'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l local -d 'Only forget the token here, without asking the server to end the session'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l email -d 'The account\'s email (default: the logged-in account)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l password-stdin -d 'Read two lines from stdin: the current password, then the new one'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l to -d 'The recipient\'s email (default: yourself)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l file -d 'Send each non-blank line of FILE (`-`: stdin) as a message. Re-running the same file sends only the lines not sent yet' -r -F
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l expires -d 'The message expires this long after it is sent, for everyone: a number and a unit (s, m, h, d, w or y), such as 7d' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l limit -d 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l with -d 'Only the conversation with this account, both directions' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l after -d 'Only messages after this message id (a page further on)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l sent -d 'Messages you sent instead of your inbox (with --with: those you sent that account)'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l all -d 'Every message from the first (or from --after), following the server\'s pages'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l unread -d 'Only messages to you that you have not read (in the normal listing, `•` marks them)'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l limit -d 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l with -d 'Only the conversation with this account, both directions' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l after -d 'Only messages after this message id (a page further on)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l sent -d 'Messages you sent instead of your inbox (with --with: those you sent that account)'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l all -d 'Every message from the first (or from --after), following the server\'s pages'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l unread -d 'Only messages to you that you have not read (in the normal listing, `•` marks them)'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -l with -d 'Every message to you from this account' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -l all -d 'Every message to you'
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand read" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand unread" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand unread" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand unread" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand unread" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand unread" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand unread" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -l for-everyone -d 'Delete the recipient\'s copy too (you must be the sender)'
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -s y -l yes -d 'Do not ask'
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand delete" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l after -d 'Start after this message id instead of from now' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -f -a "create" -d 'Create an access token; prints it once. Needs a login (not an access token) and the password'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -f -a "list" -d 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -f -a "ls" -d 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -f -a "revoke" -d 'Revoke an access token, by id or by name: it is refused at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -f -a "rm" -d 'Revoke an access token, by id or by name: it is refused at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and not __fish_seen_subcommand_from create list ls revoke rm help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -l scope -d 'What it may do: read (list, watch, whoami), send, admin (administrators); comma-separated' -r -f -a "read\t''
send\t''
admin\t''"
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -l expires -d 'How long it lasts: a number and m, h, d, w or y, e.g. 30d (default: until revoked)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -l password-stdin -d 'Read the password from the first line of stdin instead of prompting'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from list" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from list" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from list" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l all -d 'Revoke every access token of the account'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l all -d 'Revoke every access token of the account'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from rm" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create an access token; prints it once. Needs a login (not an access token) and the password'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "list" -d 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "revoke" -d 'Revoke an access token, by id or by name: it is refused at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand tokens; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand profiles" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand profiles" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand profiles" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand profiles" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand profiles" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand profiles" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "users" -d 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "list" -d 'List accounts, in email order: the first 100 unless --all'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "ls" -d 'List accounts, in email order: the first 100 unless --all'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "create" -d 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "deactivate" -d 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "activate" -d 'Activate a deactivated account again (its owner logs in anew)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "delete" -d 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "reset-password" -d 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "unlock" -d 'Clear an account\'s failed-login counters, so its owner can log in at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "set-role" -d 'Make an account an administrator (asks for your password), or a user again'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and not __fish_seen_subcommand_from users list ls create deactivate activate delete reset-password unlock set-role help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "list" -d 'List accounts, in email order: the first 100 unless --all'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "ls" -d 'List accounts, in email order: the first 100 unless --all'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "create" -d 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "deactivate" -d 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "activate" -d 'Activate a deactivated account again (its owner logs in anew)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "delete" -d 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "reset-password" -d 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "unlock" -d 'Clear an account\'s failed-login counters, so its owner can log in at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "set-role" -d 'Make an account an administrator (asks for your password), or a user again'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from users" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l email -d 'Only emails starting with this' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l limit -d 'How many (1-1000 on a page; default 100); with --all, at most this many in all' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l deactivated -d 'Only deactivated accounts'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l all -d 'Every account, following the server\'s pages'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l email -d 'Only emails starting with this' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l limit -d 'How many (1-1000 on a page; default 100); with --all, at most this many in all' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l deactivated -d 'Only deactivated accounts'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l all -d 'Every account, following the server\'s pages'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -l file -d 'One email a line (`-`: stdin); blank lines and lines starting with # are skipped' -r -F
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -l admin -d 'Make them administrators (asks for your password)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -l password-stdin -d 'With --admin: read your password from the first line of stdin instead of prompting'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from create" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from deactivate" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from deactivate" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from deactivate" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from deactivate" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from deactivate" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from deactivate" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from activate" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from activate" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from activate" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from activate" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from activate" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from activate" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from delete" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from delete" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from delete" -l yes -d 'Do not ask (needed without a terminal)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from delete" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from delete" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from delete" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l password-stdin -d 'Read your password from the first line of stdin instead of prompting'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from reset-password" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from unlock" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from unlock" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from unlock" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from unlock" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from unlock" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from unlock" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from set-role" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from set-role" -l profile -d 'Which cached login to use: several accounts on one server (e.g. `admin` and `default`)' -r -f
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from set-role" -l password-stdin -d 'Making an administrator: read your password from the first line of stdin instead of prompting'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from set-role" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from set-role" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from set-role" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from set-role" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "users" -d 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "list" -d 'List accounts, in email order: the first 100 unless --all'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "create" -d 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "deactivate" -d 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "activate" -d 'Activate a deactivated account again (its owner logs in anew)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "reset-password" -d 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "unlock" -d 'Clear an account\'s failed-login counters, so its owner can log in at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "set-role" -d 'Make an account an administrator (asks for your password), or a user again'
complete -c msgctl -n "__fish_msgctl_using_subcommand admin; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "register" -d 'Create an account; prints its generated password once'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "login" -d 'Log in and cache the token for this server'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "logout" -d 'Log out: end this session on the server (its token stops working) and forget it here'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "whoami" -d 'Show the server, the account and when the token expires; exit 3 when not logged in'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "status" -d 'Who you are, on which server and profile, and your unread messages by sender'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "passwd" -d 'Change the password, and stay logged in with the new one'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "send" -d 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "list" -d 'List messages, oldest first: the most recent page of the inbox by default'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "read" -d 'Mark messages to you read: those named, all of them (--all), or all from one account (--with). Your other devices see it at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "unread" -d 'Mark messages to you unread again'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "delete" -d 'Delete messages: your copy (the other party keeps theirs), or with --for-everyone, as their sender, both copies (within the server\'s DELETE_WINDOW, 24 h by default). Asks first; --yes for scripts'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "watch" -d 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "token" -d 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "tokens" -d 'Access tokens for scripts: long-lived, limited to scopes, revocable one by one'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "profiles" -d 'List the cached logins: profile, server, account and expiry; `*` marks the one in use'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "completions" -d 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "admin" -d 'Administer accounts (administrators only)'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami status passwd send list read unread delete watch token tokens profiles completions admin help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "create" -d 'Create an access token; prints it once. Needs a login (not an access token) and the password'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "list" -d 'List your access tokens: name, scopes, expiry, last use (never the secrets)'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from tokens" -f -a "revoke" -d 'Revoke an access token, by id or by name: it is refused at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "users" -d 'Accounts: list, create, deactivate, activate, delete, reset-password, unlock, set-role'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "list" -d 'List accounts, in email order: the first 100 unless --all'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "create" -d 'Create accounts (registration closed or not); prints each generated password once. Re-running creates none twice: existing accounts are reported as `exists`'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "deactivate" -d 'Deactivate an account: every session and token of it is refused at once; it cannot log in'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "activate" -d 'Activate a deactivated account again (its owner logs in anew)'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "delete" -d 'Delete an account and every message it sent or received. Asks first; --yes for scripts'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "reset-password" -d 'Give an account a new generated password (printed once); its sessions are revoked. Asks for your own password first (a stolen session alone cannot reset one)'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "unlock" -d 'Clear an account\'s failed-login counters, so its owner can log in at once'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and __fish_seen_subcommand_from admin" -f -a "set-role" -d 'Make an account an administrator (asks for your password), or a user again'
