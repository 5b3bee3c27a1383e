"""Demo domain — Email: searching the inbox and replying to a message."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from toolsynth.demo_domains.base import (
    Capability,
    Domain,
    Lang,
    Reasoning,
    Result,
    Slot,
    _n,
    _obj,
    _s,
    _t,
)

_SENDER = Slot(
    {
        "en": ("anna.weber@example.com", "j.moreno@example.org", "billing@example.net", "li.wei@example.com"),
        "zh": ("zhang.min@example.cn", "wang.lei@example.com", "hr@example.cn", "chen.jing@example.org"),
    }
)
_SINCE = Slot({"en": ("2026-09-01", "2026-09-15", "2026-10-01"), "zh": ("2026-09-01", "2026-09-20", "2026-10-08")})
_SUBJECTS = (
    "Updated project timeline",
    "Invoice for September",
    "Agenda for Thursday's call",
    "Draft contract for review",
    "Follow-up on our conversation",
    "Team offsite logistics",
)
_EMAIL = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"


def _search(args: dict[str, Any], rng: random.Random) -> Result:
    since = dt.date.fromisoformat(str(args["since_date"]))
    received = dt.datetime.combine(
        since + dt.timedelta(days=rng.randint(0, 25)), dt.time(rng.randint(7, 21), rng.choice([3, 17, 34, 48]))
    )
    matches = rng.randint(1, 14)
    return {
        "message_id": f"msg_{rng.randint(10**7, 10**8 - 1)}",
        "sender": str(args["sender"]),
        "subject": rng.choice(_SUBJECTS),
        "received_at": received.isoformat(timespec="minutes"),
        "match_count": matches,
        "unread_count": rng.randint(0, matches),
    }


def _search_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f'The latest email from {r["sender"]} is "{r["subject"]}" (received {r["received_at"]}, '
        f"id {r['message_id']}); {r['match_count']} emails match, {r['unread_count']} unread.",
        f"{r['sender']}最新的邮件是“{r['subject']}”（{r['received_at']}收到，编号{r['message_id']}）；"
        f"共{r['match_count']}封匹配，其中{r['unread_count']}封未读。",
    )


def _reply(args: dict[str, Any], rng: random.Random) -> Result:
    sent = dt.datetime(2026, 10, 20, rng.randint(8, 20), rng.randint(0, 59))
    return {
        "reply_id": f"msg_{rng.randint(10**7, 10**8 - 1)}",
        "in_reply_to": str(args["message_id"]),
        "status": "sent",
        "sent_at": sent.isoformat(timespec="minutes"),
    }


def _reply_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Your reply to {r['in_reply_to']} was {r['status']} at {r['sent_at']} (id {r['reply_id']}).",
        f"对邮件{r['in_reply_to']}的回复已于{r['sent_at']}发送（编号{r['reply_id']}）。",
    )


def _more_mail(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["match_count"] == b["match_count"]:
        return _t(
            lang,
            f"{a['sender']} and {b['sender']} have each written {a['match_count']} emails.",
            f"{a['sender']}和{b['sender']}发来的邮件一样多，都是{a['match_count']}封。",
        )
    more, less = (a, b) if a["match_count"] > b["match_count"] else (b, a)
    return _t(
        lang,
        f"{more['sender']} has written more: {more['match_count']} emails versus {less['match_count']} "
        f"from {less['sender']}.",
        f"{more['sender']}发来的邮件更多：{more['match_count']}封，而{less['sender']}是{less['match_count']}封。",
    )


EMAIL = Domain(
    name="email",
    keywords=("email", "e-mail", "inbox", "mailbox", "邮件", "邮箱", "收件箱"),
    scenarios={
        "en": (
            "A professional digs a specific message out of a crowded email inbox and answers it.",
            "Someone back from holiday catches up on emails from key contacts.",
            "An office manager checks which contacts send the most email.",
            "A job seeker searches the email inbox for a recruiter's message and replies to it.",
        ),
        "zh": (
            "在塞满邮件的收件箱里找到某封邮件并回复的职场人士。",
            "休假回来后处理重要联系人邮件的人。",
            "想了解哪些联系人发来邮件最多的办公室主任。",
            "在收件箱里找到招聘人员的邮件并回复的求职者。",
        ),
    },
    capabilities=(
        Capability(
            name="search_inbox",
            description="Find the most recent email from a sender received on or after a date.",
            parameters=_obj(
                {
                    "sender": _s("Sender's email address", pattern=_EMAIL),
                    "since_date": _s("Earliest date received, YYYY-MM-DD", format="date"),
                }
            ),
            returns=_obj(
                {
                    "message_id": _s("Identifier of the most recent matching email"),
                    "sender": _s("Sender's address"),
                    "subject": _s("Subject line"),
                    "received_at": _s("Local time received, YYYY-MM-DDTHH:MM"),
                    "match_count": _n("How many emails match", "integer", minimum=0),
                    "unread_count": _n("How many of them are unread", "integer", minimum=0),
                }
            ),
            clause={
                "en": "find the latest email from {sender} received since {since_date}",
                "zh": "查找{since_date}以来{sender}发来的最新邮件",
            },
            slots={"sender": _SENDER, "since_date": _SINCE},
            simulate=_search,
            summarize=_search_text,
        ),
        Capability(
            name="reply_to_email",
            description="Send a reply to an email.",
            parameters=_obj(
                {
                    "message_id": _s("Identifier of the email to reply to"),
                    "body": _s("Plain-text body of the reply", minLength=1),
                }
            ),
            returns=_obj(
                {
                    "reply_id": _s("Identifier of the sent reply"),
                    "in_reply_to": _s("The email replied to"),
                    "status": _s("Delivery status", enum=["sent", "queued"]),
                    "sent_at": _s("YYYY-MM-DDTHH:MM"),
                }
            ),
            clause={"en": "reply to that email saying {body}", "zh": "回复这封邮件说{body}"},
            slots={
                "body": Slot(
                    {
                        "en": (
                            "I can join the call on Thursday",
                            "Thanks for the update",
                            "Please send the final draft by Friday",
                            "Let us move the review to next week",
                        ),
                        "zh": ("周四的电话会议我可以参加", "收到更新谢谢", "请在周五前发来终稿", "评审改到下周吧"),
                    }
                )
            },
            simulate=_reply,
            summarize=_reply_text,
            consumes=("message_id",),
        ),
    ),
    sequential=(("search_inbox", "reply_to_email"),),
    parallel=(
        (
            "search_inbox",
            "search_inbox",
            Reasoning(
                {
                    "en": "tell me which of the two senders has emailed me more",
                    "zh": "告诉我这两位发件人谁发来的邮件更多",
                },
                _more_mail,
            ),
        ),
    ),
)
