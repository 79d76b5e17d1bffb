"""The console's authorization matrix (tests/security/console_matrix.py), with its figure."""

from __future__ import annotations

import pytest

from . import console_matrix

pytestmark = [pytest.mark.security, pytest.mark.django_db]


def test_console_authorization_matrix(world, figures):
    figure = console_matrix.run(world)
    figures["console authorization"] = figure.line()
    assert not figure.unexpected, "\n".join(figure.unexpected)
    assert not figure.changed, "\n".join(figure.changed)
