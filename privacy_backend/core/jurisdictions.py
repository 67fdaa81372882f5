"""The one table of what each jurisdiction's privacy law asks of a request's handling: how
long an answer may take from receipt and how it may be extended, how soon receipt must be
confirmed, how long an appeal of a denial may take, and where a person whose appeal is denied
can complain; each row with the law and the sections it comes from.

`Settings.jurisdiction_rules` starts from `DEFAULT_RULES` and `JURISDICTION_RULES` (JSON) may
replace it; the README's table of jurisdictions is checked against this one
(`tests/backend/test_jurisdictions.py`). A request's region is mapped onto a key here by
`services.deadlines.jurisdiction_for`: a US state with its own row gets it, any other US
state `US`, an EU or EEA country or the UK `GDPR`.

Where a law gives no right to appeal (California, Utah, the GDPR), the business still hears
an appeal within `appeal_days` as its own policy, and `appeal_source` says so.

Checked on 2026-12-07 against the statutes' text where the source carries no mark; † marks an
appeal period taken from secondary summaries (law-firm trackers, the Attorney General's
pages), not yet from the statute's text. The complaint addresses are the authorities' pages
as published; a privacy team confirms them with counsel and overrides any row with
`JURISDICTION_RULES`."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator


class DeadlineRule(BaseModel):
    """How long a jurisdiction gives us to answer, and how it may be extended; how an appeal
    is answered; the law it comes from."""

    model_config = {"extra": "forbid"}

    days: int = Field(default=0, ge=0)
    months: int = Field(default=0, ge=0)
    extension_days: int = Field(default=0, ge=0)
    extension_months: int = Field(default=0, ge=0)
    max_extensions: int = Field(default=1, ge=0)
    # The confirmation of receipt is due this many business days after receipt.
    receipt_business_days: int = Field(default=10, ge=1)
    # An appeal is decided in writing within `appeal_days` of its receipt, extendable once by
    # `appeal_extension_days` with notice.
    appeal_days: int = Field(default=60, ge=1)
    appeal_extension_days: int = Field(default=0, ge=0)
    name: str = ""  # "Virginia"
    law: str = ""  # "Virginia Consumer Data Protection Act"
    source: str = ""  # the sections the periods come from
    appeal_source: str = ""  # the section on appeals, or that they are the business's policy
    # Where a person whose appeal is denied can complain (a denied appeal's email names it).
    complaint_authority: str = ""
    complaint_url: str = ""

    @model_validator(mode="after")
    def _has_period(self) -> DeadlineRule:
        if self.days == 0 and self.months == 0:
            raise ValueError("a deadline rule needs `days` or `months`")
        return self


# The US state laws share the 45-day answer and one 45-day extension with notice within the
# first period; they differ on appeals and on whom to complain to.
_US = {"days": 45, "extension_days": 45, "max_extensions": 1}
POLICY_APPEAL = "no right to appeal in this law: the business hears appeals as its own policy"

DEFAULT_RULES: dict[str, DeadlineRule] = {
    "CA": DeadlineRule(
        **_US, name="California", law="California Consumer Privacy Act (CCPA/CPRA)",
        source="Cal. Civ. Code §1798.130(a)(2); CCPA regulations, 11 CCR §7021",
        appeal_source=POLICY_APPEAL,
        complaint_authority="the California Privacy Protection Agency",
        complaint_url="https://cppa.ca.gov/webapplications/complaint"),
    "VA": DeadlineRule(
        **_US, name="Virginia", law="Virginia Consumer Data Protection Act",
        source="Va. Code §59.1-577(B)", appeal_source="Va. Code §59.1-577(C) †",
        complaint_authority="the Virginia Attorney General",
        complaint_url="https://www.oag.state.va.us/consumer-protection/index.php/file-a-complaint"),
    "CO": DeadlineRule(
        **_US, appeal_days=45, appeal_extension_days=60, name="Colorado",
        law="Colorado Privacy Act", source="C.R.S. §6-1-1306(2)",
        appeal_source="C.R.S. §6-1-1306(3) †",
        complaint_authority="the Colorado Attorney General",
        complaint_url="https://coag.gov/file-complaint/"),
    "CT": DeadlineRule(
        **_US, name="Connecticut", law="Connecticut Data Privacy Act",
        source="Conn. Gen. Stat. §42-518(c)", appeal_source="Conn. Gen. Stat. §42-518(d) †",
        complaint_authority="the Connecticut Attorney General",
        complaint_url="https://www.dir.ct.gov/ag/complaint/"),
    "TX": DeadlineRule(
        **_US, name="Texas", law="Texas Data Privacy and Security Act",
        source="Tex. Bus. & Com. Code §541.052",
        appeal_source="Tex. Bus. & Com. Code §541.053 †",
        complaint_authority="the Texas Attorney General",
        complaint_url="https://www.texasattorneygeneral.gov/consumer-protection/"
                      "file-consumer-complaint"),
    "OR": DeadlineRule(
        **_US, appeal_days=45, name="Oregon", law="Oregon Consumer Privacy Act",
        source="ORS 646A.576(5)(a)", appeal_source="ORS 646A.576(6)(d)",
        complaint_authority="the Oregon Department of Justice",
        complaint_url="mailto:oregonprivacy@doj.oregon.gov"),
    "MT": DeadlineRule(
        **_US, name="Montana", law="Montana Consumer Data Privacy Act",
        source="Mont. Code Ann. §30-14-2808", appeal_source="Mont. Code Ann. §30-14-2808 †",
        complaint_authority="the Montana Attorney General",
        complaint_url="https://dojmt.gov/consumer/consumer-complaints/"),
    "NE": DeadlineRule(
        **_US, name="Nebraska", law="Nebraska Data Privacy Act",
        source="Neb. Rev. Stat. §87-1108(2)", appeal_source="Neb. Rev. Stat. §87-1108(3), "
        "§87-1109",
        complaint_authority="the Nebraska Attorney General",
        complaint_url="https://protectthegoodlife.nebraska.gov/"),
    "UT": DeadlineRule(
        **_US, name="Utah", law="Utah Consumer Privacy Act", source="Utah Code §13-61-203",
        appeal_source=POLICY_APPEAL, complaint_authority="the Utah Division of Consumer "
        "Protection", complaint_url="https://dcp.utah.gov/complaints/"),
    "IA": DeadlineRule(
        days=90, extension_days=45, max_extensions=1, name="Iowa",
        law="Iowa Consumer Data Protection Act", source="Iowa Code §715D.3(2)",
        appeal_source="Iowa Code §715D.3(3)", complaint_authority="the Iowa Attorney General",
        complaint_url="https://www.iowaattorneygeneral.gov/for-consumers/file-a-consumer-"
                      "complaint"),
    "DE": DeadlineRule(
        **_US, name="Delaware", law="Delaware Personal Data Privacy Act",
        source="6 Del. C. §12D-104(c)", appeal_source="6 Del. C. §12D-104(d) †",
        complaint_authority="the Delaware Department of Justice",
        complaint_url="mailto:privacy@delaware.gov"),
    # Every other US state: the company answers on the states' common clock.
    "US": DeadlineRule(
        **_US, name="Other US states", law="the company's policy (the common US clock)",
        source="the 45-day clock of the state laws above", appeal_source=POLICY_APPEAL,
        complaint_authority="your state's Attorney General",
        complaint_url="https://www.naag.org/find-my-ag/"),
    # GDPR art. 12(3): one month from receipt, extendable once by two further months.
    "GDPR": DeadlineRule(
        months=1, extension_months=2, max_extensions=1, appeal_days=30,
        name="EU, EEA and UK", law="General Data Protection Regulation (and UK GDPR)",
        source="GDPR art. 12(3)", appeal_source=POLICY_APPEAL + "; art. 77 gives a complaint "
        "to a supervisory authority",
        complaint_authority="your data protection supervisory authority",
        complaint_url="https://www.edpb.europa.eu/about-edpb/about-edpb/members_en"),
}
