"""Field encryption with rotatable keys, and the keyed hash beside it."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from backend.core import crypto


@pytest.fixture
def keys(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old]
    return old, new


def test_round_trip_and_no_plaintext(keys):
    token = crypto.encrypt("11010519491231002X")
    assert "11010519491231002X" not in token
    assert crypto.decrypt(token) == "11010519491231002X"
    assert crypto.encrypt("same") != crypto.encrypt("same")  # randomised: equal values do not show


def test_rotation_first_key_encrypts_all_decrypt(keys, settings):
    old, new = keys
    token = crypto.encrypt("secret")
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    assert crypto.decrypt(token) == "secret"
    assert crypto.needs_rotation(token)
    rotated = crypto.rotate(token)
    assert not crypto.needs_rotation(rotated)
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(rotated) == "secret"
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_keyed_hash_is_stable_and_keyed(settings):
    settings.ID_HASH_KEY = "one"
    first = crypto.keyed_hash("11010519491231002X")
    assert first == crypto.keyed_hash("11010519491231002X")
    assert len(first) == 64
    settings.ID_HASH_KEY = "two"
    assert crypto.keyed_hash("11010519491231002X") != first


def test_development_keys_come_from_the_secret_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.ID_HASH_KEY = ""
    token = crypto.encrypt("x")
    assert crypto.decrypt(token) == "x"
    assert crypto.keyed_hash("x")


def test_without_debug_missing_keys_refuse(settings):
    settings.DEBUG = False
    settings.TESTING = False
    settings.FIELD_ENCRYPTION_KEYS = []
    settings.ID_HASH_KEY = ""
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")
    with pytest.raises(ImproperlyConfigured):
        crypto.keyed_hash("x")


def test_a_malformed_key_is_a_configuration_error(settings):
    settings.FIELD_ENCRYPTION_KEYS = ["not-a-key"]
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("x")


def test_settings_refuse_to_start_without_keys_when_debug_is_off(tmp_path):
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in {"TESTING", "FIELD_ENCRYPTION_KEYS", "ID_HASH_KEY"}}
    env.update({"DEBUG": "0", "SECRET_KEY": "x" * 50, "DJANGO_SETTINGS_MODULE": "backend.settings"})
    code = "import django; django.setup()"
    refused = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in refused.stderr
    env.update({"FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(), "ID_HASH_KEY": "k" * 32})
    started = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True)
    assert started.returncode == 0, started.stderr


@pytest.mark.django_db
def test_rotate_encryption_command_re_encrypts_and_rehashes(keys, settings):
    from tests.members.factories import MemberFactory, id_number

    old, new = keys
    number = id_number("11010519491231002")
    member = MemberFactory()
    member.set_id_number(number)
    member.save()
    untouched = MemberFactory()
    settings.FIELD_ENCRYPTION_KEYS = [new, old]
    settings.ID_HASH_KEY = "a-new-hash-key"
    call_command("rotate_encryption", "--rehash", stdout=io.StringIO())
    member.refresh_from_db()
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert crypto.decrypt(member.id_number_encrypted) == number
    assert member.id_number_hash == crypto.keyed_hash(number)
    untouched.refresh_from_db()
    assert untouched.id_number_encrypted == ""
