# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_msgctl_global_optspecs
    string join \n server= json q/quiet no-input h/help V/version
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

complete -c msgctl -n "__fish_msgctl_needs_command" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_needs_command" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_needs_command" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_needs_command" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c msgctl -n "__fish_msgctl_needs_command" -s V -l version -d 'Print version'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "register" -d 'Create an account; prints its generated password once'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "login" -d 'Log in and cache the token for this server'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "logout" -d 'Log out: end this session on the server (its token stops working) and forget it here'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "whoami" -d 'Show the server, the account and when the token expires; exit 3 when not logged in'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "status" -d 'Show the server, the account and when the token expires; exit 3 when not logged in'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "passwd" -d 'Change the password, and stay logged in with the new one'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "send" -d 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "list" -d 'List messages, oldest first: the most recent page of the inbox by default'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "ls" -d 'List messages, oldest first: the most recent page of the inbox by default'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "watch" -d 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "token" -d 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "completions" -d 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
complete -c msgctl -n "__fish_msgctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l login -d 'Also log in and cache the token, so the password need not be typed'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand register" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l email -d 'The account\'s email (default: the one last logged in here; prompted for when missing)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l password-stdin -d 'Read the password from the first line of stdin instead of prompting'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand login" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l everywhere -d 'Revoke every token of the account on the server: log out of every device and script'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l local -d 'Only forget the token here, without asking the server to end the session'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand logout" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand whoami" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l email -d 'The account\'s email (default: the logged-in account)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l password-stdin -d 'Read two lines from stdin: the current password, then the new one'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand passwd" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l to -d 'The recipient\'s email (default: yourself)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l file -d 'Send each non-blank line of FILE (`-`: stdin) as a message. Re-running the same file sends only the lines not sent yet' -r -F
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand send" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l limit -d 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l with -d 'Only the conversation with this account, both directions' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l after -d 'Only messages after this message id (a page further on)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l sent -d 'Messages you sent instead of your inbox (with --with: those you sent that account)'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l all -d 'Every message from the first (or from --after), following the server\'s pages'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand list" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l limit -d 'How many messages (1-1000 on a page; default 100); with --all, at most this many in all' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l with -d 'Only the conversation with this account, both directions' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l after -d 'Only messages after this message id (a page further on)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l sent -d 'Messages you sent instead of your inbox (with --with: those you sent that account)'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l all -d 'Every message from the first (or from --after), following the server\'s pages'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand ls" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l after -d 'Start after this message id instead of from now' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand watch" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand token" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -l server -d 'The msgd server (http:// is assumed when no scheme is given)' -r
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -l json -d 'Print JSON on stdout (errors, usage errors too, as {"error","code"} on stderr)'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -s q -l quiet -d 'Print only what a script needs: no status lines'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -l no-input -d 'Never prompt; missing input is an error (exit 2). Implied when stdin or stderr is not a terminal'
complete -c msgctl -n "__fish_msgctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "register" -d 'Create an account; prints its generated password once'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "login" -d 'Log in and cache the token for this server'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "logout" -d 'Log out: end this session on the server (its token stops working) and forget it here'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "whoami" -d 'Show the server, the account and when the token expires; exit 3 when not logged in'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "passwd" -d 'Change the password, and stay logged in with the new one'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "send" -d 'Send a message, to yourself or (--to) to another account; prints its id. Retried sends are never duplicated'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "list" -d 'List messages, oldest first: the most recent page of the inbox by default'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "watch" -d 'Print messages to you as they arrive, until Ctrl-C; reconnects by itself without losing any'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "token" -d 'Print the token (for scripts: curl -H "Authorization: Bearer $(msgctl token)"). The only command that prints it'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "completions" -d 'Print a shell completion script: bash, zsh, fish, powershell or elvish'
complete -c msgctl -n "__fish_msgctl_using_subcommand help; and not __fish_seen_subcommand_from register login logout whoami passwd send list watch token completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
