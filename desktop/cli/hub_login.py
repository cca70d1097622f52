"""`lantern models login` and `logout`: the Hugging Face access token that gated models need,
kept in the system keyring. The token is asked for at a hidden prompt or read from standard
input, so that it stays out of the shell's history and the process list."""

from __future__ import annotations

import argparse
import sys

from desktop.cli.arguments import Commands
from desktop.cli.output import secret_from_user
from desktop.errors import InvalidToken


def add_login_commands(models_commands: Commands) -> None:
    """`login` and `logout`, on the `lantern models` parser's subcommands."""
    login = models_commands.add_parser(
        "login", help="save a Hugging Face access token (for gated models) in the keyring"
    )
    login.add_argument(
        "--token",
        help="the token (it then stays in your shell history: better paste it at the hidden "
        "prompt, or pipe it in); - reads it from standard input. Default: a hidden prompt at a "
        "terminal, standard input otherwise",
    )
    login.set_defaults(handler=_login)
    logout = models_commands.add_parser("logout", help="remove the saved Hugging Face token")
    logout.set_defaults(handler=_logout)


def _login(args: argparse.Namespace) -> int:
    from desktop.models.hub_token import save_token

    if args.token is not None and args.token != "-":
        print(TOKEN_ON_COMMAND_LINE_WARNING, file=sys.stderr)
        token = args.token
    else:
        token = secret_from_user("Hugging Face access token (input hidden): ")
    save_token(_checked_token(token))
    print("Token saved in the system keyring; gated models you have access to can be downloaded.")
    return 0


TOKEN_ON_COMMAND_LINE_WARNING = (
    "warning: a token given with --token stays in your shell's history and shows in the "
    "process list while Lantern runs. Next time run `lantern models login` and paste it at "
    'the hidden prompt, or pipe it in: `echo "$HF_TOKEN" | lantern models login`.'
)


def _checked_token(token: str) -> str:
    token = token.strip()
    if not token:
        raise InvalidToken(
            "No token was given. Copy one from https://huggingface.co/settings/tokens, then "
            "paste it at the prompt of `lantern models login`, or pipe it in: "
            '`echo "$HF_TOKEN" | lantern models login`.'
        )
    if any(c.isspace() for c in token):
        # Never the token itself in the message: it would land in logs and terminals.
        raise InvalidToken(
            "That is not one access token: it holds spaces or several lines. Give only the "
            "token (it starts with hf_), copied from https://huggingface.co/settings/tokens."
        )
    return token


def _logout(args: argparse.Namespace) -> int:
    from desktop.models.hub_token import forget_token

    print("Token removed." if forget_token() else "No token was saved.")
    return 0
