"""Interaction wording, one list per kind of moment in a customer's story.

Each entry is ``(channel, direction, subject, body)``; placeholders are
``{first}`` (the contact), ``{owner}`` (their account owner), ``{product}``,
``{company}`` and ``{case}`` (a ticket number). The wording is chosen so that a
lexicon-based sentiment analyser reads complaints as negative and praise as
positive, while logistics stay neutral.
"""

from __future__ import annotations

Template = tuple[str, str, str, str]

# Problems: the customer is unhappy (inbound).
COMPLAINT: tuple[Template, ...] = (
    (
        "ticket",
        "in",
        "Still broken: {product}",
        "Hi {owner}, the {product} export is still broken after your last update. "
        "We are frustrated and losing time every day.",
    ),
    (
        "ticket",
        "in",
        "Same problem again with {product}",
        "This is the third time I report the same problem with {product}. Really "
        "disappointed; if it is not fixed we will ask for a refund.",
    ),
    (
        "ticket",
        "in",
        "Sync errors again",
        "The sync keeps failing and nobody answers our tickets. Terrible experience so far.",
    ),
    (
        "email",
        "in",
        "Charged twice",
        "We were charged twice for {product}. Please refund the duplicate payment; "
        "this is really annoying.",
    ),
    (
        "email",
        "in",
        "Unhappy with {product}",
        "{product} is slow and unreliable for our team. Worst week we have had with your platform.",
    ),
    (
        "chat",
        "in",
        "Waiting for an answer",
        "Still waiting for an answer on case {case}. The team at {company} is frustrated "
        "and looking at other options.",
    ),
    (
        "call",
        "in",
        "Complaint call",
        "{first} called about repeated outages of {product}. Very disappointed with the "
        "poor response time; mentioned a refund.",
    ),
    (
        "ticket",
        "in",
        "Data missing after import",
        "Half of our records are missing after the import. This is a bad situation and "
        "the workaround you sent is useless.",
    ),
)

# Said together with a complaint, or alone when something is pressing.
URGENT_SUFFIX: tuple[str, ...] = (
    " Urgent: please fix this asap.",
    " We need this resolved immediately.",
    " This is urgent, our whole team is blocked.",
    " Please call me back asap.",
)
URGENT: tuple[Template, ...] = (
    ("email", "in", "Urgent: signed quote", "Could you send the signed quote asap? Urgent."),
    (
        "email",
        "in",
        "Invoice needed immediately",
        "Finance needs the invoice for {product} immediately to close the month.",
    ),
    ("chat", "in", "Urgent: access for a new user", "Please add access for our new hire asap."),
)

# Success: the customer is happy (inbound).
PRAISE: tuple[Template, ...] = (
    (
        "email",
        "in",
        "Thank you!",
        "Thanks {owner}! The team loves {product}; the rollout went great.",
    ),
    (
        "email",
        "in",
        "Great session",
        "Great session today, everyone found the {product} walkthrough excellent. Thanks!",
    ),
    (
        "chat",
        "in",
        "Loving it",
        "Just wanted to say we are really happy with {product}. Love the new dashboards.",
    ),
    (
        "call",
        "in",
        "Happy customer",
        "{first} called to say {product} works great for {company}. Wonderful results "
        "this quarter.",
    ),
    (
        "meeting",
        "in",
        "Quarterly review",
        "Excellent quarterly review: {company} is happy with {product} and loves the support.",
    ),
)

# An issue that was solved: a ticket that ends well.
RESOLVED: tuple[Template, ...] = (
    (
        "ticket",
        "in",
        "Re: case {case}",
        "Thanks for the quick help, the issue is fixed and everything works great now.",
    ),
    (
        "ticket",
        "in",
        "Question about {product} settings",
        "Thanks, that answered my question about {product}. Good to know!",
    ),
)

# Replies from the company after a complaint (outbound, neutral).
SUPPORT_REPLY: tuple[Template, ...] = (
    (
        "email",
        "out",
        "Re: your case {case}",
        "We have opened case {case} and our engineers are looking into it. We will update "
        "you within one business day.",
    ),
    (
        "call",
        "out",
        "Follow-up on case {case}",
        "Called {first} to go through case {case} and agree on the next steps.",
    ),
)

# Day-to-day logistics (neutral).
NEUTRAL: tuple[Template, ...] = (
    (
        "meeting",
        "out",
        "Quarterly business review",
        "Agenda for the quarterly review: usage of {product}, renewal dates and next steps.",
    ),
    (
        "email",
        "out",
        "Invoice for {product}",
        "Please find attached the invoice for {product}. Payment terms are 30 days.",
    ),
    (
        "call",
        "out",
        "Renewal call",
        "Discussed the renewal timeline for {product}; follow-up scheduled for next month.",
    ),
    (
        "note",
        "out",
        "Account notes",
        "{first} is the main contact at {company} and prefers email for scheduling.",
    ),
    (
        "chat",
        "in",
        "Question about user seats",
        "How do we add two more users to the {company} account?",
    ),
    (
        "email",
        "in",
        "Change of billing address",
        "Our billing address changes next month; the new one is on the attached form.",
    ),
    (
        "meeting",
        "out",
        "Roadmap meeting",
        "Walked {first} through the roadmap for {product} and the dates of the next releases.",
    ),
)

ORDER_CONFIRMATION: tuple[Template, ...] = (
    (
        "email",
        "out",
        "Order confirmation: {product}",
        "Your order for {product} has been received and will be activated today.",
    ),
)

CANCELLATION: tuple[Template, ...] = (
    (
        "note",
        "out",
        "Cancellation request",
        "{first} asked to cancel the {product} subscription at the end of the term and "
        "requested a refund for the unused period.",
    ),
    (
        "email",
        "in",
        "Cancel our subscription",
        "Please cancel our {product} subscription. We are moving to another provider.",
    ),
)

WIN_BACK: tuple[Template, ...] = (
    (
        "email",
        "out",
        "A lot has changed at {product}",
        "We have shipped many improvements to {product} since you left. Would you like a "
        "month on us to try them?",
    ),
)

# Leads: prospecting.
LEAD_OUTREACH: tuple[Template, ...] = (
    (
        "email",
        "out",
        "Following up on your demo request",
        "Hi {first}, thanks for requesting a demo. Would Tuesday or Thursday suit you?",
    ),
    (
        "call",
        "out",
        "Discovery call",
        "Discovery call with {first}: {company} evaluates tools for their sales team.",
    ),
    (
        "meeting",
        "out",
        "Product demo",
        "Showed {product} to {first} and two colleagues from {company}; sent the slides.",
    ),
    (
        "chat",
        "in",
        "Pricing question",
        "What would {product} cost for a team of our size?",
    ),
    (
        "email",
        "in",
        "Re: demo",
        "Thanks, the demo was great. We will discuss it internally next week.",
    ),
    (
        "note",
        "out",
        "Lead notes",
        "{first} met us at a trade fair; interested in {product}.",
    ),
)
