"""Likes: one per (user, repo); the repo row keeps the count for sorting (atomic increments)."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dockyard.accounts.models import Account
from dockyard.repos.models import Like, Repo


def like(session: Session, user: Account, repo: Repo) -> None:
    try:
        with session.begin_nested():
            session.add(Like(user_id=user.id, repo_id=repo.id))
    except IntegrityError:
        return  # already liked
    session.execute(update(Repo).where(Repo.id == repo.id).values(likes=Repo.likes + 1))


def unlike(session: Session, user: Account, repo: Repo) -> None:
    row = session.get(Like, (user.id, repo.id))
    if row is None:
        return
    session.delete(row)
    session.execute(update(Repo).where(Repo.id == repo.id).values(likes=Repo.likes - 1))


def likers(session: Session, repo: Repo) -> list[Account]:
    return list(
        session.scalars(
            select(Account)
            .join(Like, Like.user_id == Account.id)
            .where(Like.repo_id == repo.id)
            .order_by(Like.created_at)
        )
    )


def liked_repos(session: Session, user: Account) -> list[Repo]:
    return list(
        session.scalars(
            select(Repo)
            .join(Like, Like.repo_id == Repo.id)
            .where(Like.user_id == user.id)
            .order_by(Like.created_at.desc())
        )
    )
