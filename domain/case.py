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

from domain.money import Pounds, SignedPounds


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

#: An identifier an officer gives a line (a grant, a contract, an offer, a money line, a
#: table) so that a recommendation can name the lines it covers: letters, digits and . _ -,
#: at most 40 characters, e.g. "G12" or "offer-home-office".
LINE_ID_PATTERN = r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38}[A-Za-z0-9])?$"
LineId = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=LINE_ID_PATTERN, max_length=40),
    Field(description="A line's identifier: letters, digits and . _ -, e.g. G12 (at most 40)"),
]

#: The most lines of one kind a case can carry (a large grants programme has a few hundred).
MAX_LINES = 1000


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
    #: The lines it covers: ids of grant lines, procurements, incoming funding or money
    #: lines, or the name of a grant group. Ratify compares them with the routing.
    covers: list[ShortText] = Field(default_factory=list, max_length=MAX_LINES)
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

    id: LineId | None = None
    kind: MoneyKind
    #: The total over all the line's financial years (write one line per year to show
    #: "£87,000 per annum").
    amount: Pounds
    financial_years: list[FinancialYear] = Field(min_length=1)
    funding_source: ShortText
    description: ShortText | None = None
    #: The id of the incoming funding (an offer) that pays for this line: such a line is
    #: new external money, not spending within existing approved budgets.
    funded_by: LineId | None = None
    #: When the expenditure is sought: this line is not part of it. It is within existing
    #: approved budgets (match funding already budgeted, say) and the DMPC only notes it.
    noted: bool = False

    @model_validator(mode="after")
    def _years(self) -> Self:
        for fy in self.financial_years:
            _check_financial_year(fy)
        if len(set(self.financial_years)) != len(self.financial_years):
            raise ValueError("financial_years lists the same year twice")
        return self


class GrantBatch(_Model):
    """Several separate small awards written as one line ("23 further grants, each under
    £50,000, totalling £402,118"): tested by the largest single award, never by the total."""

    count: int = Field(ge=2, le=100_000, description="How many separate awards the line lists")
    largest: Pounds = Field(description="The largest single award in the batch")
    #: The recipients, when the paper names them (at most `count`).
    recipients: list[ShortText] = Field(default_factory=list, max_length=MAX_LINES)


class GrantLine(_Model):
    """A grant to a third party.

    Lines of one `group` (one award split into phases, projects of one organisation under
    one programme) are added together before the threshold test; a line without a group
    is added together with the other ungrouped lines to the same recipient (names compared
    normalised). A `batch` line lists several separate awards and is tested by its largest.
    """

    id: LineId | None = None
    #: Who receives it; may be left out only for a batch of unnamed awards.
    recipient: ShortText | None = None
    #: The grant (for a batch: the batch's total).
    amount: Pounds
    #: What the grant is for, as the paper says.
    purpose: Text
    #: The award or programme the line belongs to, as the paper names it ("Safer London:
    #: Youth Violence Fund 2019-22"): lines of one group are one award for the threshold.
    group: ShortText | None = None
    batch: GrantBatch | None = None

    @model_validator(mode="after")
    def _batch(self) -> Self:
        if self.batch is None:
            if self.recipient is None:
                raise ValueError("recipient is required (only a batch line may leave it out)")
            return self
        if self.group is not None:
            raise ValueError(
                "group cannot be given for a batch line: a batch lists separate awards; "
                "write a grant that is part of an award as its own line in that group"
            )
        if self.batch.largest > self.amount:
            raise ValueError("batch.largest is more than the batch's total amount")
        if self.batch.largest * self.batch.count < self.amount:
            raise ValueError(
                "batch.largest times batch.count is less than the batch's total amount: "
                "the largest award cannot be that small"
            )
        if len(self.batch.recipients) > self.batch.count:
            raise ValueError("batch.recipients names more recipients than batch.count")
        return self

    @property
    def tested_amount(self) -> Decimal:
        """What the threshold test weighs for this line on its own: the grant, or for a
        batch its largest single award."""
        return self.batch.largest if self.batch is not None else self.amount


class ProcurementRoute(StrEnum):
    """The procedure a contract is procured by (Public Contracts Regulations 2015)."""

    OPEN_TENDER = "open_tender"
    """Open procedure (reg 27)."""
    RESTRICTED_TENDER = "restricted_tender"
    """Restricted procedure (reg 28)."""
    COMPETITIVE_WITH_NEGOTIATION = "competitive_with_negotiation"
    """Competitive procedure with negotiation (reg 29)."""
    COMPETITIVE_DIALOGUE = "competitive_dialogue"
    """Competitive dialogue (reg 30)."""
    INNOVATION_PARTNERSHIP = "innovation_partnership"
    """Innovation partnership (reg 31)."""
    NEGOTIATED_WITHOUT_PRIOR_PUBLICATION = "negotiated_without_prior_publication"
    """Negotiated procedure without prior publication: only on a ground of reg 32, e.g.
    reg 32(2)(b) (only one supplier can provide it), given in `regulation_ground`."""
    FRAMEWORK = "framework"
    """A call-off from a framework agreement (reg 33), named in `framework`."""
    DIRECT_AWARD_EXEMPT = "direct_award_exempt"
    """A direct award outside the Regulations under an exclusion, e.g. a public-to-public
    (Teckal) arrangement under reg 12, given in `exemption`."""
    SINGLE_TENDER_ACTION = "single_tender_action"
    """A single tender action (a contract exemption, para 4.13)."""
    CONTRACT_VARIATION = "contract_variation"
    """A modification of a contract during its term (reg 72)."""
    OTHER = "other"


class VatBasis(StrEnum):
    """Whether a contract value includes VAT, when the paper does not say."""

    UNKNOWN = "unknown"


class Procurement(_Model):
    """A contract to be procured: procedure, value, VAT basis, term, single tender action."""

    id: LineId | None = None
    #: What is bought, as the paper names it.
    subject: ShortText
    #: The procedure (see `ProcurementRoute`).
    route: ProcurementRoute
    route_detail: ShortText | None = Field(
        default=None, description="e.g. 'CCS G-Cloud 11 framework call-off'"
    )
    #: The legal ground of a negotiated procedure without prior publication or a single
    #: tender action, e.g. "reg 32(2)(b)".
    regulation_ground: ShortText | None = Field(
        default=None, description="The regulation the procedure relies on, e.g. reg 32(2)(b)"
    )
    #: The framework a call-off is made under ("CCS G-Cloud 11 (RM1557.11)").
    framework: ShortText | None = None
    #: The exclusion a direct award relies on ("reg 12(1) public-to-public (Teckal)").
    exemption: ShortText | None = None
    contract_value: Pounds
    #: true: the value includes VAT; false: net of VAT; "unknown": the paper does not say
    #: (the engine then compares both ways and says which result holds).
    vat_included: bool | VatBasis = Field(
        description='true (value includes VAT), false (net of VAT) or "unknown"'
    )
    #: The initial term in years, and the most the extension options add.
    term_years: Decimal | None = Field(default=None, gt=0, le=50)
    #: The most years the extension options can add to the term.
    extension_years: Decimal | None = Field(default=None, ge=0, le=50)
    #: Supplier, where known. Contracts with one supplier are added together for the
    #: thresholds, so that a purchase cannot be split to slip under them.
    supplier: ShortText | None = None
    #: Further suppliers of the same contract (a multi-supplier award), where known.
    other_suppliers: list[ShortText] = Field(default_factory=list, max_length=100)
    #: A contract exemption (single tender action) under para 4.13.
    single_tender_action: bool = False
    #: Why no competition: required with a single tender action.
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
        if self.other_suppliers and self.supplier is None:
            raise ValueError("other_suppliers is given: name the first supplier in supplier")
        return self

    @property
    def vat_known(self) -> bool:
        return isinstance(self.vat_included, bool)

    @property
    def suppliers(self) -> list[str]:
        """Every supplier named, the first one first."""
        return [self.supplier, *self.other_suppliers] if self.supplier else []


class IncomingFundingKind(StrEnum):
    OFFER = "offer"
    """An offer of grant funding made to MOPAC (para 4.8: all offers)."""
    BID = "bid"
    """A bid MOPAC makes for grant funding (para 4.8: all bids)."""


class IncomingFunding(_Model):
    """Money coming in: an external funder's offer of grant funding (or MOPAC's bid for
    one), with its conditions. Not spending: no finding about existing budgets is made."""

    id: LineId | None = None
    kind: IncomingFundingKind = IncomingFundingKind.OFFER
    #: Who offers it ("Home Office").
    funder: ShortText
    amount: Pounds
    #: What the money is for.
    purpose: Text | None = None
    #: The funder's conditions (reporting, eligible spend, clawback).
    conditions: Text | None = None
    #: The date by which the money must be spent.
    spend_by: Day | None = None
    #: The split between capital and revenue, when the offer makes one.
    capital: Pounds | None = None
    #: The revenue part of the offer, when it is split.
    revenue: Pounds | None = None
    #: Match funding MOPAC must put in, if any, and from where.
    match_funding_required: Pounds | None = None
    #: Where the match funding comes from (an approved budget).
    match_funding_source: ShortText | None = None

    @model_validator(mode="after")
    def _split(self) -> Self:
        if self.capital is not None and self.revenue is not None:
            if self.capital + self.revenue != self.amount:
                raise ValueError("capital plus revenue must equal the amount offered")
        elif (self.capital or Decimal(0)) > self.amount or (
            self.revenue or Decimal(0)
        ) > self.amount:
            raise ValueError("capital or revenue is more than the amount offered")
        if self.match_funding_source and not self.match_funding_required:
            raise ValueError("match_funding_source is given without match_funding_required")
        return self


class TableRow(_Model):
    """One row of a financial table: a label and one amount (or blank) per column."""

    #: The row's name (a programme, a year, "Total").
    label: ShortText
    #: One amount per column, in the columns' order; blank (null) where the paper has none;
    #: negative amounts (an underspend) as -12500 or "(12,500)".
    amounts: list[SignedPounds | None] = Field(min_length=1, max_length=40)
    #: This row states the total of the rows above it (back to the previous total row).
    total: bool = False


class FinancialTable(_Model):
    """A table of figures as the paper gives it (allocation, expenditure and variance by
    programme; capital and revenue by year). Ratify checks that stated totals add up."""

    id: LineId | None = None
    #: The table's caption, as the paper has it.
    title: ShortText
    #: The column headings ("2019/20", "2020/21", "Total").
    columns: list[ShortText] = Field(min_length=1, max_length=40)
    #: The last column states each row's total of the other columns.
    total_column: bool = False
    rows: list[TableRow] = Field(min_length=1, max_length=500)
    #: A note under the table.
    note: Text | None = None

    @model_validator(mode="after")
    def _shape(self) -> Self:
        width = len(self.columns)
        for index, row in enumerate(self.rows):
            if len(row.amounts) != width:
                raise ValueError(
                    f"rows item {index + 1} ({row.label!r}) has {len(row.amounts)} amounts "
                    f"for {width} columns"
                )
        if self.total_column and width < 2:
            raise ValueError("total_column needs at least one column besides the total")
        return self


class CrossReferenceKind(StrEnum):
    BUILDS_ON = "builds_on"
    COMPANION = "companion"
    VARIES = "varies"
    SUPERSEDES = "supersedes"
    RELATED = "related"


class CrossReference(_Model):
    """Another decision this case refers to: "PCD 512", or a Ratify case id."""

    reference: ShortText = Field(description='A decision reference ("PCD 512") or a case id')
    #: How this case stands to the other decision.
    relation: CrossReferenceKind = CrossReferenceKind.RELATED
    #: A few words on the link ("draws down the reserve approved in").
    note: ShortText | None = None


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
    """Exemptions of the Freedom of Information Act 2000 cited for Part 2 (the section's
    title; a citation may add subsections, see `FoiCitation`)."""

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

    @property
    def section(self) -> str:
        """ "s31"."""
        return self.value.split(" ", 1)[0]

    @property
    def heading(self) -> str:
        """ "Law enforcement"."""
        return self.value.split(" ", 1)[1]


_FOI_BY_SECTION = {s.section: s for s in FoiSection}
_FOI_CITATION = re.compile(r"^(s\d{1,2})((?:\(\d{1,2}[A-Z]?\))?(?:\([a-z]{1,4}\))*)$")


def _foi_citation(value: Any) -> Any:
    """Read "s31(1)(a)", "S.31(1)(a)", "section 31(1)(a)"; and, from a version 1 case file,
    "s31 Law enforcement" (a section with its title) as "s31"."""
    if not isinstance(value, str) or len(value) > 2 * MAX_FOI_CITATION:
        return value
    text = value.strip()
    for member in FoiSection:
        if text == member.value:
            return member.section
    text = re.sub(r"^(?:section|sec\.?|s\.?)\s*", "s", text, flags=re.IGNORECASE)
    return text.replace(" ", "")


#: The longest FOI citation read ("s31(1)(a)" is 9 characters).
MAX_FOI_CITATION = 40


def _check_foi_citation(value: str) -> str:
    # The value is never quoted back: this is Part 2, and a refusal reaches the logs.
    if len(value) > MAX_FOI_CITATION:
        raise ValueError(
            f"an FOI exemption has at most {MAX_FOI_CITATION} characters, e.g. s31(1)(a)"
        )
    match = _FOI_CITATION.match(value)
    if not match:
        raise ValueError(
            "an FOI exemption must be a section with any subsections, e.g. s43, s31(1)(a) or s40(2)"
        )
    if match.group(1) not in _FOI_BY_SECTION:
        known = ", ".join(_FOI_BY_SECTION)
        raise ValueError(f"an FOI exemption must be one of the exemptions ({known})")
    return value


#: An FOI Act exemption as the paper cites it: the section and any subsections, "s31(1)(a)".
FoiCitation = Annotated[
    str,
    BeforeValidator(_foi_citation),
    AfterValidator(_check_foi_citation),
    Field(
        description="An FOI Act 2000 exemption with its subsections, e.g. s43, s31(1)(a)",
        json_schema_extra={"pattern": r"^s\d{1,2}(\(\d{1,2}[A-Z]?\))?(\([a-z]{1,4}\))*$"},
    ),
]


def foi_title(citation: str) -> str:
    """ "s31(1)(a) Law enforcement": the citation with its section's title."""
    match = _FOI_CITATION.match(citation)
    member = _FOI_BY_SECTION.get(match.group(1)) if match else None
    return f"{citation} {member.heading}" if member else citation


SPECIFIED_INFORMATION_ORDER = (
    "Article 2(2)(a) of the Elected Local Policing Bodies (Specified Information) Order 2011"
)


class Part2(_Model):
    """The confidential part: never shown in Part 1 views or the public register."""

    security_marking: SecurityMarking
    #: The legal basis the paper cites for exempting Part 2 (often
    #: `SPECIFIED_INFORMATION_ORDER`); never assumed when the paper does not cite one.
    exemption_basis: ShortText | None = None
    foi_sections: list[FoiCitation] = Field(min_length=1, max_length=30)
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
    """One line of the originating officer declaration: a tick, or the reason for none.

    A line may be saved unticked and unexplained while the case is drafted (nothing typed
    is lost); submission is refused until every unticked line is explained.
    """

    confirmed: bool
    statement: Text
    reason: Text | None = None

    @property
    def explained(self) -> bool:
        return self.confirmed or self.reason is not None


class OfficerDeclaration(_Model):
    """The originating officer declaration: one tick (or reason) per kind of advice. Which
    lines the form has depends on its version (`FORM_VERSIONS`)."""

    financial_advice: DeclarationItem | None = None
    legal_advice: DeclarationItem | None = None
    equalities_advice: DeclarationItem | None = None
    commercial_issues: DeclarationItem | None = None
    gdpr_data_privacy: DeclarationItem | None = None
    #: "Drafting officer: <name> has drafted this report in accordance with MOPAC
    #: procedures" (later forms).
    drafting_officer: DeclarationItem | None = None
    director_head_of_service: DeclarationItem | None = None

    def lines(self) -> list[tuple[str, DeclarationItem]]:
        """The lines given, in the form's order."""
        return [
            (name, item)
            for name in type(self).model_fields
            if (item := getattr(self, name)) is not None
        ]

    def unexplained(self) -> list[str]:
        """The names of the lines neither ticked nor explained."""
        return [name for name, item in self.lines() if not item.explained]


class FormVersion(StrEnum):
    """The version of the decision form a paper is written on: which sections and which
    declaration lines it has (`FORM_VERSIONS`)."""

    DMPC_2019 = "dmpc-2019"
    """The 2019 form: real estate and environmental sections; six declaration lines,
    commercial issues among them, no drafting officer line."""
    DMPC_2020 = "dmpc-2020"
    """The 2020 form: a commercial issues section, no real estate or environmental
    section; the same six declaration lines."""
    DMPC_2021 = "dmpc-2021"
    """The 2021 form: no real estate, environmental or commercial issues section or line;
    a drafting officer line."""
    OTHER = "other"
    """Any other form: only the core sections are required; no declaration line is."""


class FormRequirements(BaseModel):
    model_config = ConfigDict(frozen=True)

    #: Optional sections of `Case` this form requires (each may say "Not applicable").
    sections: frozenset[str]
    #: Lines of `OfficerDeclaration` this form requires.
    declaration: frozenset[str]


_SIX_LINES = frozenset(
    {
        "financial_advice",
        "legal_advice",
        "equalities_advice",
        "commercial_issues",
        "gdpr_data_privacy",
        "director_head_of_service",
    }
)

FORM_VERSIONS: dict[FormVersion, FormRequirements] = {
    FormVersion.DMPC_2019: FormRequirements(
        sections=frozenset({"real_estate_implications", "environmental_implications"}),
        declaration=_SIX_LINES,
    ),
    FormVersion.DMPC_2020: FormRequirements(
        sections=frozenset({"commercial_comments"}), declaration=_SIX_LINES
    ),
    FormVersion.DMPC_2021: FormRequirements(
        sections=frozenset(),
        declaration=(_SIX_LINES - {"commercial_issues"}) | {"drafting_officer"},
    ),
    FormVersion.OTHER: FormRequirements(sections=frozenset(), declaration=frozenset()),
}

#: How a section says explicitly that it does not apply ("Not applicable", "N/A").
NOT_APPLICABLE = "Not applicable"
_NOT_APPLICABLE_SPELLINGS = {"not applicable", "n/a", "na", "not applicable."}


def _not_applicable(value: Any) -> Any:
    if isinstance(value, str) and value.strip().casefold() in _NOT_APPLICABLE_SPELLINGS:
        return NOT_APPLICABLE
    return value


#: A section of the paper: its text, or "Not applicable" (also read from "N/A").
Section = Annotated[Text, BeforeValidator(_not_applicable)]


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
    """The board the paper is written for, and the meeting intended ("JULY 2019"). An
    extremis submission names its board too, beside `Case.extremis_reason`."""

    board: BoardName
    intended_meeting: Day | None = None


#: The version of the case-file format this Ratify writes. A file without
#: `schema_version` is version 1 and is upgraded as it is read (`upgrade_case_data`).
CASE_SCHEMA_VERSION = 2


def upgrade_case_data(data: Any) -> Any:
    """Bring a case file of an earlier format version up to `CASE_SCHEMA_VERSION`.

    Version 1 (before December 2026) had no `schema_version`, no `form_version` (its
    required sections were those of the 2019 form) and a Part 2 exemption basis that
    defaulted to the Specified Information Order when left out: the upgrade writes both
    down, so that nothing a version 1 file meant is lost. FOI sections written with their
    titles ("s43 Commercial interests") read as citations ("s43").
    """
    if not isinstance(data, dict):
        return data
    version = data.get("schema_version", 1)
    if version == CASE_SCHEMA_VERSION:
        return data
    if version != 1:
        raise ValueError(
            f"schema_version {version!r} is not one this Ratify reads (1 or {CASE_SCHEMA_VERSION})"
        )
    upgraded = dict(data)
    upgraded["schema_version"] = CASE_SCHEMA_VERSION
    upgraded.setdefault("form_version", FormVersion.DMPC_2019.value)
    part2 = upgraded.get("part2")
    if isinstance(part2, dict) and "exemption_basis" not in part2:
        upgraded["part2"] = {**part2, "exemption_basis": SPECIFIED_INFORMATION_ORDER}
    return upgraded


class Case(_Model):
    """A business case, as drafted by the originating officer."""

    schema_version: Literal[2] = Field(
        default=2,
        description="The case-file format version (2); a file without it is read as 1",
    )
    #: The decision form the paper is written on: which sections and declaration lines
    #: it must have.
    form_version: FormVersion = FormVersion.DMPC_2019
    #: The decision's title, as on the form.
    title: ShortText
    executive_summary: Text
    recommendations: list[Recommendation] = Field(min_length=1, max_length=99)
    approval_sought: list[ApprovalSought] = Field(min_length=1)
    introduction_and_background: Text
    issues_for_consideration: Text
    #: "Contributes to the MOPAC Police & Crime Plan 2017-2021".
    police_and_crime_plan: Section | None = None
    financial_comments: Text
    commercial_comments: Section | None = None
    procurement_comments: Section | None = None
    legal_comments: Text
    equality_comments: Text
    privacy_comments: PrivacyComments
    #: Required by the forms that have the section (`FORM_VERSIONS`); may say
    #: "Not applicable".
    real_estate_implications: Section | None = None
    #: The environmental implications (required by the forms that have the section).
    environmental_implications: Section | None = None
    background_papers: list[ShortText] = Field(default_factory=list)
    #: Other decisions this one builds on, accompanies, varies or supersedes.
    cross_references: list[CrossReference] = Field(default_factory=list, max_length=100)
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
    #: The board the paper goes to (IAB, IAM); for an extremis submission too, if named.
    board: BoardRoute | None = None
    #: Why the case is an urgent extremis submission outside the meeting cycle.
    extremis_reason: Text | None = None
    money_lines: list[MoneyLine] = Field(default_factory=list, max_length=MAX_LINES)
    grant_lines: list[GrantLine] = Field(default_factory=list, max_length=MAX_LINES)
    procurements: list[Procurement] = Field(default_factory=list, max_length=MAX_LINES)
    #: Money coming in: offers of grant funding (and bids for it).
    incoming_funding: list[IncomingFunding] = Field(default_factory=list, max_length=100)
    #: The paper's tables of figures; Ratify checks their totals.
    financial_tables: list[FinancialTable] = Field(default_factory=list, max_length=50)
    #: The total of a budget virement or movement, when one is sought.
    virement_amount: Pounds | None = None
    time_sensitivity: TimeSensitivity | None = None
    part1_deferral: Part1Deferral | None = None
    part2: Part2 | None = None
    officer_declaration: OfficerDeclaration

    @model_validator(mode="before")
    @classmethod
    def _upgrade(cls, data: Any) -> Any:
        return upgrade_case_data(data)

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
        self._form_sections()
        self._line_ids()
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
        if (
            ApprovalSought.EXPENDITURE in sought
            and self.money_lines
            and all(line.noted for line in self.money_lines)
        ):
            raise ValueError(
                "money_lines are all noted: approval_sought has expenditure, so at least one "
                "line must be expenditure whose approval is sought"
            )
        for funding in self.incoming_funding:
            wanted = (
                ApprovalSought.GRANT_FUNDING_OFFER
                if funding.kind is IncomingFundingKind.OFFER
                else ApprovalSought.GRANT_FUNDING_BID
            )
            if wanted not in sought:
                raise ValueError(
                    f"incoming_funding has a {funding.kind.value} from {funding.funder}: "
                    f"add {wanted.value} to approval_sought"
                )
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

    def _form_sections(self) -> None:
        form = FORM_VERSIONS[self.form_version]
        for name in sorted(form.sections):
            if getattr(self, name) is None:
                raise ValueError(
                    f"{name} is required by the {self.form_version.value} form "
                    f'(write "Not applicable" if it does not apply)'
                )
        for name in sorted(form.declaration):
            if getattr(self.officer_declaration, name) is None:
                raise ValueError(
                    f"officer_declaration.{name} is required by the {self.form_version.value} form"
                )

    def _line_ids(self) -> None:
        seen: set[str] = set()
        for line_id in self.line_ids():
            if line_id in seen:
                raise ValueError(f"line id {line_id!r} is given to more than one line")
            seen.add(line_id)
        groups = {g.group for g in self.grant_lines if g.group}
        for line in self.money_lines:
            if line.funded_by is not None and line.funded_by not in {
                f.id for f in self.incoming_funding
            }:
                raise ValueError(
                    f"money_lines.funded_by names {line.funded_by!r}, which is no "
                    "incoming_funding id"
                )
        for rec in self.recommendations:
            for name in rec.covers:
                if name not in seen and name not in groups:
                    raise ValueError(
                        f"recommendations.covers of recommendation {rec.number} names "
                        f"{name!r}, which is neither a line id nor a grant group"
                    )

    def line_ids(self) -> list[str]:
        """The ids given to lines (grants, procurements, incoming funding, money lines,
        tables), in the order of the form."""
        lines: list[Any] = [
            *self.money_lines,
            *self.grant_lines,
            *self.procurements,
            *self.incoming_funding,
            *self.financial_tables,
        ]
        return [line.id for line in lines if line.id is not None]

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
