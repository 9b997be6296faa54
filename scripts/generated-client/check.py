"""What a Python client generated from /openapi.json by openapi-python-client does: register anonymously
with a plain client, log in, send to itself and to another account, list, and refuse a bad request with
the documented error body. Type-checked with mypy --strict before it runs (scripts/generated-client)."""

import sys
import uuid

from msgkit_client import AuthenticatedClient, Client
from msgkit_client.api.messages import list_messages, send_message
from msgkit_client.api.users import create_user, login, me
from msgkit_client.models import (
    CreatedUser,
    CreateUserRequest,
    ErrorBody,
    LoginRequest,
    MessageView,
    SendMessageRequest,
    TokenResponse,
)


def register(client: Client, email: str) -> CreatedUser:
    created = create_user.sync(client=client, body=CreateUserRequest(email=email), idempotency_key=str(uuid.uuid4()))
    assert isinstance(created, CreatedUser), created
    return created


def main(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    ada = register(anonymous, "py-ada@example.com")
    register(anonymous, "py-bob@example.com")
    taken = create_user.sync(client=anonymous, body=CreateUserRequest(email="py-ada@example.com"))
    assert isinstance(taken, ErrorBody) and taken.code.value == "email_taken", taken

    token = login.sync(client=anonymous, body=LoginRequest(email=ada.email, password=ada.generated_password))
    assert isinstance(token, TokenResponse), token
    client = AuthenticatedClient(base_url=base_url, token=token.token, raise_on_unexpected_status=True)
    mine = me.sync(client=client)
    assert mine is not None and not isinstance(mine, ErrorBody) and mine.email == ada.email, mine

    note = send_message.sync(client=client, body=SendMessageRequest(content="a note to self"))
    assert isinstance(note, MessageView) and note.to == ada.email, note
    sent = send_message.sync(client=client, body=SendMessageRequest(content="hi bob", to="py-bob@example.com"))
    assert isinstance(sent, MessageView) and sent.to == "py-bob@example.com", sent
    blank = send_message.sync(client=client, body=SendMessageRequest(content="   "))
    assert isinstance(blank, ErrorBody) and blank.code.value == "content_required", blank

    inbox = list_messages.sync(client=client)
    assert isinstance(inbox, list), inbox
    assert [m.content for m in inbox] == ["a note to self"], inbox
    print(f"generated Python client: registered, logged in, sent {len([note, sent])} and listed {len(inbox)}")


if __name__ == "__main__":
    main(sys.argv[1])
