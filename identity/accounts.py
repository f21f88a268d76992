"""Accounts: citizens' registration, staff created by admins, identity proofing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from identity.audit import record_audit
from identity.cccd import Gender, cccd_errors
from identity.errors import AlreadyExists, InvalidField, NotFound
from identity.models import IdentityProofing, Organisation, Role, User
from identity.names import look_alike_problem, normal_email, normal_name
from identity.passwords import Passwords, password_problems
from identity.phone import normalise_phone

__all__ = [
    "PROOFING_METHODS",
    "NewUser",
    "ProofingEvidence",
    "account_problems",
    "cccd_of",
    "check_evidence",
    "competing_registrations",
    "create_organisation",
    "create_user",
    "pending_registrations",
    "proof_identity",
    "register_citizen",
    "reject_registration",
]

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
PROOFING_METHODS = ("in_person", "video_call", "chip_nfc")


@dataclass(frozen=True)
class NewUser:
    """What an account is made from (a registration form or an admin's command)."""

    email: str
    password: str
    full_name: str
    role: Role = Role.CITIZEN
    cccd: str | None = None
    date_of_birth: date | None = None
    gender: Gender | None = None
    phone: str | None = None
    organisation_id: str | None = None


def account_problems(new: NewUser, today: date) -> dict[str, str]:
    """Every field of a new account that breaks a rule, with what is wrong (none: valid)."""
    errors: dict[str, str] = {}
    email = normal_email(new.email)
    if not _EMAIL.match(email):
        errors["email"] = "enter a valid e-mail address"
    elif problem := look_alike_problem(email, spaces=False):
        errors["email"] = problem
    name = normal_name(new.full_name)
    if not name or len(name) > 64 or not all(c.isalpha() or c in " '-." for c in name):
        errors["full_name"] = "enter your full name as on your CCCD card (letters only)"
    elif problem := look_alike_problem(name, spaces=True):
        errors["full_name"] = problem
    if problem := password_problems(new.password, email=new.email, cccd=new.cccd):
        errors["password"] = problem
    if new.phone is not None and normalise_phone(new.phone) is None:
        errors["phone"] = "enter a Vietnamese mobile (e.g. 0912 345 678) or landline number"
    if new.role is Role.CITIZEN:
        if new.date_of_birth is None:
            errors["date_of_birth"] = "the date of birth is required"
        elif not date(1900, 1, 1) <= new.date_of_birth <= today:
            errors["date_of_birth"] = "the date of birth must be in the past"
        elif (today - new.date_of_birth).days < 14 * 365:
            errors["date_of_birth"] = "citizens must be at least 14 years old to hold an account"
        if new.gender is None:
            errors["gender"] = "the gender is required (as on the CCCD card)"
        if new.cccd is None:
            errors["cccd"] = "the CCCD number is required"
        else:
            problems = cccd_errors(new.cccd, new.date_of_birth, new.gender)
            if problems:
                errors["cccd"] = "; ".join(problems)
    elif new.cccd is not None:
        problems = cccd_errors(new.cccd, new.date_of_birth, new.gender)
        if problems:
            errors["cccd"] = "; ".join(problems)
    return errors


def create_user(
    session: Session,
    passwords: Passwords,
    new: NewUser,
    *,
    now: datetime,
    actor: str,
    verified: bool = False,
) -> User:
    """Validate and create an account; ``verified`` makes the identity level 2 at once."""
    errors = account_problems(new, now.date())
    if errors:
        raise InvalidField(errors)
    email = normal_email(new.email)
    if session.exec(select(User).where(User.email == email)).first() is not None:
        raise InvalidField({"email": "an account with this e-mail address exists already"})
    if (
        verified
        and new.cccd
        and session.exec(select(User).where(User.cccd == new.cccd)).first() is not None
    ):
        raise InvalidField({"cccd": "a proofed account holds this CCCD number already"})
    user = User(
        email=email,
        role=new.role.value,
        full_name=normal_name(new.full_name),
        cccd=new.cccd if verified else None,  # an unproofed account only claims it
        claimed_cccd=None if verified else new.cccd,
        date_of_birth=new.date_of_birth,
        gender=new.gender.value if new.gender else None,
        phone=normalise_phone(new.phone) if new.phone else None,
        organisation_id=new.organisation_id,
        password_hash=passwords.hash(new.password),
        identity_level=2 if verified else 1,
        created_at=now,
    )
    session.add(user)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=actor,
        action="user.create" if actor != "self" else "user.register",
        target=user.id,
        role=user.role,
        identity_level=user.identity_level,
    )
    return user


def register_citizen(session: Session, passwords: Passwords, new: NewUser, now: datetime) -> User:
    """Self-registration: always a citizen at identity level 1."""
    if new.role is not Role.CITIZEN:
        raise InvalidField({"role": "only citizens register themselves"})
    return create_user(session, passwords, new, now=now, actor="self")


@dataclass(frozen=True)
class ProofingEvidence:
    """What the registration officer checked."""

    document: str
    """The document seen, e.g. ``CCCD card`` or ``passport``."""
    method: str
    """One of ``PROOFING_METHODS``."""
    notes: str = ""


def cccd_of(user: User) -> str | None:
    """The CCCD an account holds (proofed) or claims (not yet)."""
    return user.cccd or user.claimed_cccd


def competing_registrations(session: Session, user: User) -> list[User]:
    """The other accounts (not disabled) that hold or claim ``user``'s CCCD, oldest first."""
    cccd = cccd_of(user)
    if not cccd:
        return []
    return list(
        session.exec(
            select(User)
            .where(col(User.id) != user.id)
            .where(col(User.disabled).is_(False))  # a rejected registration competes no more
            .where((col(User.cccd) == cccd) | (col(User.claimed_cccd) == cccd))
            .order_by(col(User.created_at))
        )
    )


def reject_registration(
    session: Session, officer: User, user_id: str, notes: str, now: datetime
) -> User:
    """An unproofed registration a registration officer found not to be its CCCD's owner's
    (an impostor's, a squat): the account is disabled."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.role != Role.CITIZEN.value or user.disabled:
        raise NotFound("no citizen with that id")
    if user.identity_level >= 2:
        raise AlreadyExists("this citizen's identity is proofed: revoke, do not reject")
    user.disabled = True
    session.add(user)
    record_audit(session, at=now, actor=f"user:{officer.id}", action="user.reject",
                 target=user.id, notes=notes.strip()[:200])  # fmt: skip
    return user


def pending_registrations(session: Session) -> list[User]:
    """Citizens waiting for identity proofing, oldest first."""
    return list(
        session.exec(
            select(User)
            .where(User.role == Role.CITIZEN.value)
            .where(User.identity_level < 2)
            .where(col(User.disabled).is_(False))
            .order_by(col(User.created_at))
        )
    )


def check_evidence(evidence: ProofingEvidence, methods: tuple[str, ...]) -> None:
    """``InvalidField`` unless a document is named and the method is one of ``methods``."""
    errors = {}
    if not evidence.document.strip():
        errors["document"] = "name the document you saw"
    if evidence.method not in methods:
        errors["method"] = f"one of {', '.join(methods)}"
    if errors:
        raise InvalidField(errors)


def proof_identity(
    session: Session, officer: User, user_id: str, evidence: ProofingEvidence, now: datetime
) -> IdentityProofing:
    """Record the check and raise the citizen to level 2."""
    check_evidence(evidence, PROOFING_METHODS)
    user = session.get(User, user_id, with_for_update=True)
    if user is None or user.role != Role.CITIZEN.value:
        raise NotFound("no citizen with that id")
    if user.identity_level >= 2:
        raise AlreadyExists("this citizen's identity is proofed already")
    claimed = user.claimed_cccd
    if claimed and session.exec(select(User).where(User.cccd == claimed)).first() is not None:
        raise AlreadyExists(
            "a proofed account holds this CCCD already: reject this registration if the person "
            "in front of you is not its owner"
        )
    user.cccd, user.claimed_cccd = claimed, None
    record = IdentityProofing(
        user_id=user.id,
        officer_id=officer.id,
        document=evidence.document.strip(),
        method=evidence.method,
        notes=evidence.notes.strip(),
        checked_at=now,
    )
    user.identity_level = 2
    session.add(record)
    session.add(user)
    session.flush()
    record_audit(
        session,
        at=now,
        actor=f"user:{officer.id}",
        action="identity.proof",
        target=user.id,
        document=record.document,
        method=record.method,
    )
    return record


def create_organisation(
    session: Session, *, name: str, kind: str, now: datetime, actor: str
) -> Organisation:
    if kind not in ("agency", "company"):
        raise InvalidField({"kind": "agency or company"})
    if not name.strip():
        raise InvalidField({"name": "the name is required"})
    if session.exec(select(Organisation).where(Organisation.name == name.strip())).first():
        raise AlreadyExists("an organisation with this name exists already")
    organisation = Organisation(name=name.strip(), kind=kind, created_at=now)
    session.add(organisation)
    session.flush()
    record_audit(session, at=now, actor=actor, action="organisation.create", target=organisation.id)
    return organisation
