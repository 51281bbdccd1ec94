"""The trigram index behind substring search on repo ids."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base
from dockyard.repos.models import Repo


class RepoSearchGram(Base):
    """One row per distinct trigram of a repo's lower-cased id."""

    __tablename__ = "repo_search_grams"
    __table_args__ = (Index("ix_repo_search_grams_repo", "repo_id"),)

    gram: Mapped[str] = mapped_column(String(3), primary_key=True)
    repo_id: Mapped[int] = mapped_column(ForeignKey("repos.id", ondelete="CASCADE"), primary_key=True)


# The facet counts of the list pages group the visible repos of a type by task and library: this
# index holds every column they read, so counting 100k repos never visits the table's rows.
FACETS_INDEX = Index(
    "ix_repos_facets",
    Repo.type,
    Repo.pipeline_tag,
    Repo.library_name,
    Repo.private,
    Repo.disabled,
    Repo.owner_id,
)

# The list pages check before serving shared counts that no counted repo has since become hidden:
# this index finds a type's private and disabled repos (and sums their ids) without the table.
HIDDEN_INDEX = Index("ix_repos_hidden", Repo.type, Repo.private, Repo.disabled, Repo.id)
