"""The alerts page: open flags oldest deadline first; acknowledge and close, audited; researchers
see coded messages and research ids only."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from psotrack.errors import Conflict, PermissionDenied, ValidationError
from psotrack.services.context import SYSTEM, Permission, resolve_actor
from psotrack.services.flags import (
    acknowledge_alert,
    close_alert,
    list_alerts,
    new_flag,
    store_flag,
)
from psotrack.store.models import AuditEntry, Patient, SafetyFlag
from psotrack.store.vocabulary import FlagKind, Role
from tests.web.conftest import OWN_MRN, csrf_of

#: (name, due date, raised at): the deadline order is C (due 20 Jan), B (due 10 Feb), then the
#: flags without a due date by when they were raised: D (1 Jan), A (3 Jan).
FLAGS = (
    ("A", None, datetime(2026, 1, 3, 8, 0, tzinfo=UTC)),
    ("B", date(2026, 2, 10), datetime(2026, 1, 2, 8, 0, tzinfo=UTC)),
    ("C", date(2026, 1, 20), datetime(2026, 1, 4, 8, 0, tzinfo=UTC)),
    ("D", None, datetime(2026, 1, 1, 8, 0, tzinfo=UTC)),
)


@pytest.fixture
def flags(db, users, own_patient) -> dict[str, int]:
    """Four flags on the own patient; each care-team message quotes the MRN (free text)."""
    out = {}
    with db.transaction() as session:
        system = resolve_actor(session, SYSTEM, Permission.READ_RESEARCH)
        for name, due, raised in FLAGS:
            flag = store_flag(
                session,
                system,
                new_flag(
                    patient_id=own_patient,
                    kind=FlagKind.SERIOUS_ADVERSE_EVENT if due else FlagKind.POSSIBLE_FLARE,
                    entity="adverse_events",
                    entity_id=1,
                    message=f"flag {name}: seen in clinic, {OWN_MRN}",
                    coded_message=f"coded flag {name}",
                    due_date=due,
                ),
            )
            flag.raised_at = raised
            session.flush()
            out[name] = flag.id
    return out


def order_in(text: str, names: str) -> list[str]:
    return sorted(names, key=lambda n: text.index(f"flag {n}"))


def test_open_flags_are_listed_oldest_deadline_first(client_for, flags):
    page = client_for(Role.CLINICIAN).get("/alerts")
    assert page.status_code == 200
    assert order_in(page.text, "ABCD") == ["C", "B", "D", "A"]
    # Both due dates (20 Jan and 10 Feb 2026) are past by the time these tests run.
    assert page.text.count("(overdue)") == 2


def test_acknowledging_moves_the_flag_out_of_the_open_list_and_is_audited(
    db, users, client_for, flags
):
    client = client_for(Role.COORDINATOR)
    token = csrf_of(client.get("/alerts").text)
    done = client.post(
        f"/alerts/{flags['C']}/acknowledge", data={"csrf_token": token, "note": "called her"}
    )
    assert done.status_code == 303
    coordinator = users[Role.COORDINATOR]
    assert [a.id for a in list_alerts(db, coordinator, order="deadline")] == [
        flags["B"],
        flags["D"],
        flags["A"],
    ]
    (acknowledged,) = [
        a for a in list_alerts(db, coordinator, include_acknowledged=True) if a.acknowledged
    ]
    assert (acknowledged.id, acknowledged.acknowledged_note) == (flags["C"], "called her")
    with db.transaction() as session:
        rows = session.execute(
            select(AuditEntry.field, AuditEntry.new_value, AuditEntry.actor_id, AuditEntry.reason)
            .where(AuditEntry.entity == "safety_flags", AuditEntry.entity_id == flags["C"])
            .where(AuditEntry.action == "update")
            .order_by(AuditEntry.seq)
        ).all()
    assert [(r[0], r[2], r[3]) for r in rows] == [
        ("acknowledged_at", coordinator.user_id, "called her"),
        ("acknowledged_by", coordinator.user_id, "called her"),
        ("acknowledged_note", coordinator.user_id, "called her"),
    ]
    assert rows[1][1] == str(coordinator.user_id)
    page = client.get("/alerts").text
    open_part, in_hand = page.split("Acknowledged, not yet closed")
    assert "flag C" not in open_part and "flag C" in in_hand
    again = client.post(f"/alerts/{flags['C']}/acknowledge", data={"csrf_token": token})
    assert again.status_code == 409


def test_closing_needs_a_reason_and_takes_the_flag_off_every_list(db, users, client_for, flags):
    client = client_for(Role.CLINICIAN)
    token = csrf_of(client.get("/alerts").text)
    refused = client.post(f"/alerts/{flags['A']}/close", data={"csrf_token": token})
    assert refused.status_code == 422
    blank = client.post(f"/alerts/{flags['A']}/close", data={"csrf_token": token, "reason": " "})
    assert blank.status_code == 422
    clinician = users[Role.CLINICIAN]
    assert flags["A"] in [a.id for a in list_alerts(db, clinician)]
    done = client.post(
        f"/alerts/{flags['A']}/close", data={"csrf_token": token, "reason": "resolved at W4"}
    )
    assert done.status_code == 303
    everything = list_alerts(db, clinician, include_acknowledged=True)
    assert flags["A"] not in [a.id for a in everything]
    (closed,) = [
        a
        for a in list_alerts(db, clinician, include_acknowledged=True, include_closed=True)
        if a.id == flags["A"]
    ]
    # Closing an open flag acknowledges it too, by the same person.
    assert (closed.closed, closed.acknowledged, closed.closed_note) == (
        True,
        True,
        "resolved at W4",
    )
    with db.transaction() as session:
        flag = session.get(SafetyFlag, flags["A"])
        assert flag is not None
        assert (flag.closed_by, flag.acknowledged_by) == (clinician.user_id, clinician.user_id)
    with pytest.raises(Conflict, match="already closed"):
        close_alert(db, clinician, flags["A"], "twice")
    with pytest.raises(Conflict, match="is closed"):
        acknowledge_alert(db, clinician, flags["A"])


def test_the_researcher_sees_coded_messages_and_research_ids_only(
    db, client_for, flags, own_patient
):
    page = client_for(Role.RESEARCHER).get("/alerts")
    assert page.status_code == 200
    assert OWN_MRN not in page.text and "seen in clinic" not in page.text
    assert order_in(page.text.replace("coded flag", "flag"), "ABCD") == ["C", "B", "D", "A"]
    with db.transaction() as session:
        research_id = session.get(Patient, own_patient).research_id  # type: ignore[union-attr]
    assert research_id in page.text
    assert f"/patients/{own_patient}" not in page.text
    assert "Acknowledge</button>" not in page.text
    token = csrf_of(page.text)
    answer = client_for(Role.RESEARCHER).post(
        f"/alerts/{flags['C']}/acknowledge", data={"csrf_token": token}
    )
    assert answer.status_code == 403


def test_the_service_refuses_roles_and_bad_notes(db, users, flags):
    with pytest.raises(PermissionDenied):
        acknowledge_alert(db, users[Role.RESEARCHER], flags["B"])
    with pytest.raises(PermissionDenied):  # a person acknowledges, never the set-up process
        acknowledge_alert(db, SYSTEM, flags["B"])
    with pytest.raises(ValidationError, match="note"):
        acknowledge_alert(db, users[Role.ADMIN], flags["B"], "a\x00b")
    with pytest.raises(ValidationError, match="reason is missing"):
        close_alert(db, users[Role.ADMIN], flags["B"], "")
    with pytest.raises(ValidationError, match="order"):
        list_alerts(db, users[Role.ADMIN], order="oldest")  # type: ignore[arg-type]
