"""Agents, their skills (proficiency 1-10) and the users who log in; passwords only hashed."""
from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from cti.storage.db import Conflict, NotFound
from cti.storage.models import (AGENT_GROUPS, USER_ROLES, Agent, AgentSkill, Skill,
                               SupervisedTeam, User)
from cti.storage.passwords import hash_password, verify_password


@dataclasses.dataclass(frozen=True)
class AgentInfo:
    id: int
    number: str
    name: str
    endpoint: str
    group: str
    team: str | None
    active: bool
    skills: dict[str, int]


@dataclasses.dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    role: str
    agent_number: str | None
    active: bool
    teams: tuple[str, ...] = ()        # supervised teams (a supervisor's), sorted


def _info(agent: Agent) -> AgentInfo:
    return AgentInfo(
        agent.id, agent.number, agent.name, agent.endpoint, agent.agent_group, agent.team,
        agent.active, {s.skill.name: s.proficiency for s in agent.skills},
    )


def _load(session: Session, number: str) -> Agent:
    agent = session.scalars(
        select(Agent).where(Agent.number == number)
        .options(selectinload(Agent.skills).selectinload(AgentSkill.skill))
    ).first()
    if agent is None:
        raise NotFound(f"no agent {number}")
    return agent


def add_agent(
    session: Session, number: str, name: str, endpoint: str, password: str, *,
    group: str = "general", team: str | None = None,
) -> AgentInfo:
    if group not in AGENT_GROUPS:
        raise ValueError(f"agent group {group!r} is not one of {AGENT_GROUPS}")
    if session.scalar(select(Agent.id).where(Agent.number == number)) is not None:
        raise Conflict(f"agent {number} exists")
    agent = Agent(number=number, name=name, endpoint=endpoint, agent_group=group, team=team,
                  password_hash=hash_password(password), active=True)
    session.add(agent)
    session.flush()
    return _info(_load(session, number))


def get_agent(session: Session, number: str) -> AgentInfo:
    return _info(_load(session, number))


def list_agents(session: Session, *, active_only: bool = True) -> list[AgentInfo]:
    query = select(Agent).order_by(Agent.number).options(
        selectinload(Agent.skills).selectinload(AgentSkill.skill)
    )
    if active_only:
        query = query.where(Agent.active.is_(True))
    return [_info(agent) for agent in session.scalars(query)]


def check_agent_password(session: Session, number: str, password: str) -> bool:
    stored = session.scalar(select(Agent.password_hash).where(Agent.number == number))
    return stored is not None and verify_password(password, stored)


def set_skill(session: Session, number: str, skill_name: str, proficiency: int) -> AgentInfo:
    """Give agent `number` the skill (created on first use) at `proficiency` (1-10)."""
    if not 1 <= proficiency <= 10:
        raise ValueError(f"proficiency {proficiency} is outside 1-10")
    agent = _load(session, number)
    skill = session.scalar(select(Skill).where(Skill.name == skill_name))
    if skill is None:
        skill = Skill(name=skill_name)
        session.add(skill)
        session.flush()
    link = session.get(AgentSkill, (agent.id, skill.id))
    if link is None:
        agent.skills.append(AgentSkill(skill=skill, proficiency=proficiency))
    else:
        link.proficiency = proficiency
    session.flush()
    return _info(agent)


def remove_skill(session: Session, number: str, skill_name: str) -> AgentInfo:
    agent = _load(session, number)
    agent.skills[:] = [s for s in agent.skills if s.skill.name != skill_name]
    session.flush()
    return _info(agent)


def agents_with_skill(session: Session, skill_name: str) -> list[tuple[str, int]]:
    """(agent number, proficiency) of active agents with the skill, most proficient first."""
    rows = session.execute(
        select(Agent.number, AgentSkill.proficiency)
        .join(AgentSkill).join(Skill)
        .where(Skill.name == skill_name, Agent.active.is_(True))
        .order_by(AgentSkill.proficiency.desc(), Agent.number)
    )
    return [(number, proficiency) for number, proficiency in rows]


def add_user(session: Session, username: str, password: str, role: str, *,
             agent_number: str | None = None, teams: tuple[str, ...] = ()) -> UserInfo:
    """``teams``: the teams a supervisor watches (only supervisors may have them)."""
    if role not in USER_ROLES:
        raise ValueError(f"role {role!r} is not one of {USER_ROLES}")
    if teams and role != "supervisor":
        raise ValueError(f"only a supervisor watches teams, not a user with role {role!r}")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username} exists")
    agent_id = _load(session, agent_number).id if agent_number else None
    user = User(username=username, password_hash=hash_password(password), role=role,
                agent_id=agent_id, active=True)
    session.add(user)
    session.flush()
    session.add_all(SupervisedTeam(user_id=user.id, team=team) for team in sorted(set(teams)))
    session.flush()
    return UserInfo(user.id, username, role, agent_number, True, tuple(sorted(set(teams))))


def active_user(session: Session, username: str) -> tuple[UserInfo, str] | None:
    """The active user called ``username`` and their password hash, or None (unchecked)."""
    row = session.execute(
        select(User, Agent.number).outerjoin(Agent, User.agent_id == Agent.id)
        .where(User.username == username, User.active.is_(True))
    ).first()
    if row is None:
        return None
    user, agent_number = row
    return (UserInfo(user.id, user.username, user.role, agent_number, user.active,
                     teams_of(session, user.id)), user.password_hash)


def teams_of(session: Session, user_id: int) -> tuple[str, ...]:
    """The teams a user supervises, by name."""
    return tuple(session.scalars(select(SupervisedTeam.team)
                                 .where(SupervisedTeam.user_id == user_id)
                                 .order_by(SupervisedTeam.team)).all())


def authenticate(session: Session, username: str, password: str) -> UserInfo | None:
    """The active user with that password, or None (same answer for unknown and wrong)."""
    found = active_user(session, username)
    if found is None or not verify_password(password, found[1]):
        return None
    return found[0]
