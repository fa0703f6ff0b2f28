"""The business case: every section of a DMPC decision paper, as a pydantic model.

Field names follow the papers in `shared/seeds/` (executive summary, recommendations,
introduction and background, issues for consideration, financial/commercial/procurement,
legal, equality and privacy comments, real estate, environmental, background papers, report
author "on behalf of"). The same model is the case-file format officers write by hand
(`examples/*.yaml`), so every model forbids unknown fields and cross-field rules give a
message that names the field and the rule.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from domain.money import Pounds


def _no_nul(value: str) -> str:
    # PostgreSQL cannot hold U+0000 in a text column (the read views would stop on it).
    if "\x00" in value:
        raise ValueError("text cannot contain the NUL character (U+0000)")
    return value


Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20000),
    AfterValidator(_no_nul),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_no_nul),
]

_FY = re.compile(r"^(\d{4})/(\d{2})$")

#: A person's user id, by the identity rule (`ratify.services.identity.rules.check_user_id`):
#: lower-case letters, digits and . _ -, starting and ending with a letter or digit, at most 200.
USER_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9._-]{0,198}[a-z0-9])?$"
UserId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=USER_ID_PATTERN, max_length=200),
    Field(description="A user id: lower-case letters, digits and . _ -, e.g. sam.officer"),
]
#: The most co-officers a case can name.
MAX_CO_OFFICERS = 20


class _Model(BaseModel):
    # A validation error names the field and the rule, never the value (Part 2 text):
    # its message may reach a log.
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True
    )


def _check_financial_year(value: str) -> str:
    match = _FY.match(value)
    if not match:
        raise ValueError(f"financial year {value!r} must look like 2019/20")
    start, end = int(match.group(1)), int(match.group(2))
    if (start + 1) % 100 != end:
        raise ValueError(f"financial year {value!r} must span consecutive years, e.g. 2019/20")
    return value


FinancialYear = Annotated[
    str,
    StringConstraints(strip_whitespace=True),
    # The pattern is for editors reading the JSON Schema; the validator gives the message.
    Field(
        description="A financial year April to March, written 2019/20",
        json_schema_extra={"pattern": r"^\d{4}/\d{2}$"},
    ),
]


def _no_number_dates(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("a date must be written as 2019-12-13, not as a number")
    return value


#: A calendar day, written 2019-12-13 (a bare number is refused: pydantic would read it as
#: seconds since 1970).
Day = Annotated[date, BeforeValidator(_no_number_dates)]


class Recommendation(_Model):
    """One numbered recommendation ("1. Approve a 5-year investment of £788K ...")."""

    number: int = Field(ge=1, le=99)
    text: Text
    #: Whether the decision maker is asked to approve this, or only to note it
    #: ("Note that £5.6m cost over 5 years is included within existing approved budgets").
    action: Literal["approve", "note"] = "approve"
    #: The amount the recommendation asks for, if any.
    amount: Pounds | None = None
    #: Lettered sub-points (a., b., ...), in order.
    parts: list[RecommendationPart] = Field(default_factory=list)


class RecommendationPart(_Model):
    text: Text
    amount: Pounds | None = None


class MoneyKind(StrEnum):
    CAPITAL = "capital"
    REVENUE = "revenue"


class MoneyLine(_Model):
    """A line of money: capital or revenue, an exact amount, its year(s), its funding."""

    kind: MoneyKind
    #: The total over all the line's financial years (write one line per year to show
    #: "£87,000 per annum").
    amount: Pounds
    financial_years: list[FinancialYear] = Field(min_length=1)
    funding_source: ShortText
    description: ShortText | None = None

    @model_validator(mode="after")
    def _years(self) -> Self:
        for fy in self.financial_years:
            _check_financial_year(fy)
        if len(set(self.financial_years)) != len(self.financial_years):
            raise ValueError("financial_years lists the same year twice")
        return self


class GrantLine(_Model):
    """A grant to a third party. Related grants to one recipient are added together."""

    recipient: ShortText
    amount: Pounds
    purpose: Text


class ProcurementRoute(StrEnum):
    OPEN_TENDER = "open_tender"
    RESTRICTED_TENDER = "restricted_tender"
    FRAMEWORK = "framework"
    SINGLE_TENDER_ACTION = "single_tender_action"
    CONTRACT_VARIATION = "contract_variation"
    OTHER = "other"


class Procurement(_Model):
    """A contract to be procured: route, value, VAT basis, single tender action."""

    subject: ShortText
    route: ProcurementRoute
    route_detail: ShortText | None = Field(
        default=None, description="e.g. 'CCS G-Cloud 11 framework call-off'"
    )
    contract_value: Pounds
    vat_included: bool
    #: Supplier, where known. Contracts with one supplier are added together for the
    #: thresholds, so that a purchase cannot be split to slip under them.
    supplier: ShortText | None = None
    single_tender_action: bool = False
    single_tender_justification: Text | None = None

    @model_validator(mode="after")
    def _sta(self) -> Self:
        is_sta = self.single_tender_action or self.route is ProcurementRoute.SINGLE_TENDER_ACTION
        if is_sta and not self.single_tender_justification:
            raise ValueError(
                "single_tender_justification is required when a single tender action is used"
            )
        if self.route is ProcurementRoute.SINGLE_TENDER_ACTION and not self.single_tender_action:
            raise ValueError(
                "single_tender_action must be true when the route is single_tender_action"
            )
        return self


class DpiaStatus(StrEnum):
    COMPLETED = "completed"
    NOT_REQUIRED = "not_required"
    TO_FOLLOW = "to_follow"


class PrivacyComments(_Model):
    text: Text
    #: Whether the proposal processes personal data (brings in information assurance).
    personal_data: bool
    dpia: DpiaStatus


class ReportAuthor(_Model):
    """Report author: names and roles only (no other personal data is needed)."""

    name: ShortText
    role: ShortText
    on_behalf_of: ShortText
    #: Who presented the report, when not the author ("Report by Angus McCallum on behalf
    #: of the Chief of Corporate Services").
    presented_by: ShortText | None = None


class TimeSensitivity(_Model):
    """ "A decision is required from the Deputy Mayor by 13/12/2019", with the reason."""

    required_by: Day
    reason: Text


class Part1Deferral(_Model):
    """Part 1 publication deferred until a date, with a reason."""

    until: Day
    reason: Text


class SecurityMarking(StrEnum):
    OFFICIAL_SENSITIVE = "OFFICIAL-SENSITIVE"
    OFFICIAL_SENSITIVE_COMMERCIAL = "OFFICIAL-SENSITIVE [COMMERCIAL]"
    OFFICIAL_SENSITIVE_OPERATIONAL = "OFFICIAL-SENSITIVE [OPERATIONAL]"
    OFFICIAL_SENSITIVE_PERSONAL = "OFFICIAL-SENSITIVE [PERSONAL]"
    SECRET = "SECRET"


class FoiSection(StrEnum):
    """Exemptions of the Freedom of Information Act 2000 cited for Part 2."""

    S21 = "s21 Information accessible by other means"
    S22 = "s22 Information intended for future publication"
    S23 = "s23 Security bodies"
    S24 = "s24 National security"
    S26 = "s26 Defence"
    S27 = "s27 International relations"
    S30 = "s30 Investigations and proceedings"
    S31 = "s31 Law enforcement"
    S36 = "s36 Prejudice to effective conduct of public affairs"
    S38 = "s38 Health and safety"
    S40 = "s40 Personal information"
    S41 = "s41 Information provided in confidence"
    S42 = "s42 Legal professional privilege"
    S43 = "s43 Commercial interests"


SPECIFIED_INFORMATION_ORDER = (
    "Article 2(2)(a) of the Elected Local Policing Bodies (Specified Information) Order 2011"
)


class Part2(_Model):
    """The confidential part: never shown in Part 1 views or the public register."""

    security_marking: SecurityMarking
    exemption_basis: ShortText = SPECIFIED_INFORMATION_ORDER
    foi_sections: list[FoiSection] = Field(min_length=1)
    #: The exemption is reviewed on this date ("reviewed after ten years (June 2029)").
    review_on: Day | None = None
    #: Or: the paper ceases to be exempt on this date ("will cease to be exempt on 01/04/2024").
    ceases_to_be_exempt_on: Day | None = None
    exemption_note: Text | None = None
    #: The Part 2 text itself.
    content: Text

    @model_validator(mode="after")
    def _one_date(self) -> Self:
        if (self.review_on is None) == (self.ceases_to_be_exempt_on is None):
            raise ValueError("give exactly one of review_on or ceases_to_be_exempt_on")
        return self

    @property
    def review_date(self) -> date:
        """The date on which someone must decide about publishing Part 2."""
        found = self.review_on or self.ceases_to_be_exempt_on
        assert found is not None
        return found


class DeclarationItem(_Model):
    """One line of the originating officer declaration: a tick, or the reason for none."""

    confirmed: bool
    statement: Text
    reason: Text | None = None

    @model_validator(mode="after")
    def _tick_or_reason(self) -> Self:
        if not self.confirmed and not self.reason:
            raise ValueError("an unticked declaration line needs a reason")
        return self


class OfficerDeclaration(_Model):
    """The originating officer declaration: one tick (or reason) per kind of advice."""

    financial_advice: DeclarationItem
    legal_advice: DeclarationItem
    equalities_advice: DeclarationItem
    commercial_issues: DeclarationItem
    gdpr_data_privacy: DeclarationItem
    director_head_of_service: DeclarationItem


class ApprovalSought(StrEnum):
    """What the paper asks the decision maker for. Each maps to a rule of the scheme."""

    EXPENDITURE = "expenditure"
    """Approve a business case for revenue or capital expenditure (para 4.8)."""
    BUDGET_VIREMENT = "budget_virement"
    """Approve a budget virement or movement, temporary or permanent (para 4.8)."""
    GRANT_FUNDING_BID = "grant_funding_bid"
    """A bid for grant funding (para 4.8: all bids)."""
    GRANT_FUNDING_OFFER = "grant_funding_offer"
    """Accept an offer of grant funding (para 4.8: all offers)."""
    PROCUREMENT = "procurement"
    """Go out to tender / approve a procurement strategy (para 4.13)."""
    CONTRACT_EXEMPTION = "contract_exemption"
    """A contract exemption such as a single tender action (para 4.13)."""
    THIRD_PARTY_GRANTS = "third_party_grants"
    """Grants to third parties (each >= £50,000 needs DMPC approval; smaller ones are noted)."""


class BoardName(StrEnum):
    IAB = "IAB"
    IAM = "IAM"


class BoardAdvice(StrEnum):
    """What a board advises on a case at its meeting (`board.advice_recorded`)."""

    SUPPORTED = "supported"
    SUPPORTED_WITH_CONDITIONS = "supported_with_conditions"
    NOT_SUPPORTED = "not_supported"
    DEFERRED = "deferred"


class BoardRoute(_Model):
    """The board the paper is written for, and the meeting intended ("JULY 2019")."""

    board: BoardName
    intended_meeting: Day | None = None


class Case(_Model):
    """A business case, as drafted by the originating officer."""

    title: ShortText
    executive_summary: Text
    recommendations: list[Recommendation] = Field(min_length=1)
    approval_sought: list[ApprovalSought] = Field(min_length=1)
    introduction_and_background: Text
    issues_for_consideration: Text
    #: "Contributes to the MOPAC Police & Crime Plan 2017-2021".
    police_and_crime_plan: Text | None = None
    financial_comments: Text
    commercial_comments: Text | None = None
    procurement_comments: Text | None = None
    legal_comments: Text
    equality_comments: Text
    privacy_comments: PrivacyComments
    real_estate_implications: Text
    environmental_implications: Text
    background_papers: list[ShortText] = Field(default_factory=list)
    report_author: ReportAuthor
    #: Other originating officers who share the case with the officer who drafted it (user
    #: ids): with the drafter they are the case's officers, the only people who may revise,
    #: submit or withdraw it, who see its officer tasks, and who read its Part 2 while it is
    #: with them. Only a case officer can change this list (by revising the case).
    co_officers: list[UserId] = Field(
        default_factory=list,
        max_length=MAX_CO_OFFICERS,
        description=(
            "User ids of other originating officers who share the case with the officer who "
            "drafts it (at most 20): only the case's officers may revise, submit or withdraw "
            "it, see its officer tasks and read its Part 2 while it is with them"
        ),
    )
    board: BoardRoute | None = None
    #: Filled instead of `board` for an urgent case outside the meeting cycle.
    extremis_reason: Text | None = None
    money_lines: list[MoneyLine] = Field(default_factory=list)
    grant_lines: list[GrantLine] = Field(default_factory=list)
    procurements: list[Procurement] = Field(default_factory=list)
    #: The total of a budget virement or movement, when one is sought.
    virement_amount: Pounds | None = None
    time_sensitivity: TimeSensitivity | None = None
    part1_deferral: Part1Deferral | None = None
    part2: Part2 | None = None
    officer_declaration: OfficerDeclaration

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        numbers = [r.number for r in self.recommendations]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(
                f"recommendations must be numbered 1, 2, 3, ... in order; got {numbers}"
            )
        if len(set(self.co_officers)) != len(self.co_officers):
            raise ValueError("co_officers names the same user twice")
        if len(set(self.approval_sought)) != len(self.approval_sought):
            raise ValueError("approval_sought lists the same kind twice")
        if self.board is None and self.extremis_reason is None:
            raise ValueError("give board (the IAB/IAM meeting) or extremis_reason (urgent case)")
        if self.board is not None and self.extremis_reason is not None:
            raise ValueError("give either board or extremis_reason, not both")
        sought = set(self.approval_sought)
        if ApprovalSought.BUDGET_VIREMENT in sought and self.virement_amount is None:
            raise ValueError("virement_amount is required when approval_sought has budget_virement")
        if ApprovalSought.THIRD_PARTY_GRANTS in sought and not self.grant_lines:
            raise ValueError("grant_lines are required when approval_sought has third_party_grants")
        if self.grant_lines and ApprovalSought.THIRD_PARTY_GRANTS not in sought:
            raise ValueError("grant_lines are given: add third_party_grants to approval_sought")
        if ApprovalSought.PROCUREMENT in sought and not self.procurements:
            raise ValueError("procurements are required when approval_sought has procurement")
        if ApprovalSought.EXPENDITURE in sought and not self.money_lines:
            raise ValueError("money_lines are required when approval_sought has expenditure")
        has_sta = any(p.single_tender_action for p in self.procurements)
        if has_sta and ApprovalSought.CONTRACT_EXEMPTION not in sought:
            raise ValueError(
                "a procurement is a single tender action: add contract_exemption to "
                "approval_sought (an exemption of £100,000 or above needs the DMPC)"
            )
        if ApprovalSought.CONTRACT_EXEMPTION in sought and not has_sta:
            raise ValueError(
                "approval_sought has contract_exemption: mark the procurement as a "
                "single tender action with its justification"
            )
        if (
            self.time_sensitivity
            and self.part1_deferral
            and self.part1_deferral.until < self.time_sensitivity.required_by
        ):
            raise ValueError(
                "part1_deferral.until is before time_sensitivity.required_by: Part 1 "
                "cannot be published before the decision is due"
            )
        return self

    @property
    def total_expenditure(self) -> Decimal:
        """Capital plus revenue over all money lines."""
        return sum((line.amount for line in self.money_lines), Decimal("0.00"))

    @property
    def is_extremis(self) -> bool:
        return self.extremis_reason is not None

    @property
    def has_procurement(self) -> bool:
        return bool(self.procurements)

    @property
    def involves_personal_data(self) -> bool:
        return (
            self.privacy_comments.personal_data
            or self.privacy_comments.dpia is not DpiaStatus.NOT_REQUIRED
        )


Recommendation.model_rebuild()
