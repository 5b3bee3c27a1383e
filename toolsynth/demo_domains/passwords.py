"""Demo domain — Passwords: generating random passwords and checking their strength."""

from __future__ import annotations

import math
import random
import string
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

_SYMBOLS = "!@#$%^&*-_+=?"
_ALPHABETS = {
    "letters": string.ascii_letters,
    "letters_digits": string.ascii_letters + string.digits,
    "letters_digits_symbols": string.ascii_letters + string.digits + _SYMBOLS,
}
_CHARSET = Slot(
    {"en": tuple(_ALPHABETS), "zh": tuple(_ALPHABETS)},
    {
        "en": {
            "letters": "letters only",
            "letters_digits": "letters and digits",
            "letters_digits_symbols": "letters, digits and symbols",
        },
        "zh": {"letters": "仅字母", "letters_digits": "字母和数字", "letters_digits_symbols": "字母、数字和符号"},
    },
)
_STRENGTHS = ["weak", "fair", "strong", "very_strong"]
_STRENGTH_LABELS = {
    "en": {"very_strong": "very strong"},
    "zh": {"weak": "弱", "fair": "一般", "strong": "强", "very_strong": "非常强"},
}


def _generate(args: dict[str, Any], rng: random.Random) -> Result:
    length = max(8, min(int(args["length"]), 64))
    charset = args["character_set"] if args.get("character_set") in _ALPHABETS else "letters_digits_symbols"
    alphabet = _ALPHABETS[charset]
    # One character from every class in the set, the rest at random, shuffled.
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits, _SYMBOLS][
        : {"letters": 2, "letters_digits": 3}.get(charset, 4)
    ]
    chars = [rng.choice(c) for c in classes] + [rng.choice(alphabet) for _ in range(length - len(classes))]
    rng.shuffle(chars)
    return {
        "password": "".join(chars),
        "length": length,
        "character_set": charset,
        "entropy_bits": round(length * math.log2(len(alphabet)), 1),
    }


def _generate_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f"Your new {r['length']}-character password is {r['password']} (about {r['entropy_bits']} bits of entropy).",
        f"新生成的{r['length']}位密码是 {r['password']}（熵约{r['entropy_bits']}比特）。",
    )


def _crack_time(bits: float) -> str:
    seconds = 2**bits / 1e11  # an offline attacker trying 10^11 guesses per second
    for limit, unit in ((60, "seconds"), (3600, "minutes"), (86400, "hours"), (31_557_600, "days")):
        if seconds < limit:
            div = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}[unit]
            return f"{max(1, round(seconds / div))} {unit}"
    years = seconds / 31_557_600
    return f"{years:.0f} years" if years < 1e6 else "more than a million years"


def _strength(args: dict[str, Any], rng: random.Random) -> Result:
    password = str(args["password"])
    checks = (str.islower, str.isupper, str.isdigit, lambda ch: ch in _SYMBOLS)
    classes = sum(1 for test in checks if any(test(ch) for ch in password))
    pool = (
        (26 if any(ch.islower() for ch in password) else 0)
        + (26 if any(ch.isupper() for ch in password) else 0)
        + (10 if any(ch.isdigit() for ch in password) else 0)
        + (len(_SYMBOLS) if classes == 4 else 0)
    )
    bits = len(password) * math.log2(max(pool, 2))
    score = min(100, round(bits * 0.9))
    strength = _STRENGTHS[min(3, score // 25)]
    suggestions = []
    if len(password) < 16:
        suggestions.append("use at least 16 characters")
    if classes < 4:
        suggestions.append("mix in digits and symbols")
    return {
        "strength": strength,
        "score": score,
        "character_classes": classes,
        "estimated_crack_time": _crack_time(bits),
        "suggestions": suggestions,
    }


def _strength_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    tips = "; ".join(r["suggestions"]) or "none"
    tips_zh = "；".join(r["suggestions"]) or "无"
    label = _STRENGTH_LABELS[lang].get(r["strength"], r["strength"])
    return _t(
        lang,
        f"Strength: {label} (score {r['score']}/100, {r['character_classes']} character "
        f"classes); estimated time to crack: {r['estimated_crack_time']}. Suggestions: {tips}.",
        f"强度：{label}（{r['score']}/100分，包含{r['character_classes']}类字符），"
        f"预计破解时间：{r['estimated_crack_time']}。建议：{tips_zh}。",
    )


def _more_entropy(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["entropy_bits"] == b["entropy_bits"]:
        return _t(
            lang,
            f"Both passwords have the same entropy: {a['entropy_bits']} bits.",
            f"两个密码的熵相同，都是{a['entropy_bits']}比特。",
        )
    hi, lo = (a, b) if a["entropy_bits"] > b["entropy_bits"] else (b, a)
    return _t(
        lang,
        f"The {hi['length']}-character password {hi['password']} is stronger: {hi['entropy_bits']} bits "
        f"of entropy versus {lo['entropy_bits']} bits.",
        f"{hi['length']}位的密码 {hi['password']} 更强：熵为{hi['entropy_bits']}比特，"
        f"另一个为{lo['entropy_bits']}比特。",
    )


PASSWORDS = Domain(
    name="passwords",
    keywords=("password", "passphrase", "passcode", "密码", "口令"),
    scenarios={
        "en": (
            "Someone setting up a new online account needs a secure password.",
            "An IT administrator issues strong passwords to new employees.",
            "A security-minded user wants to know how hard their password would be to crack.",
            "An office manager replaces weak passwords on shared accounts.",
        ),
        "zh": (
            "注册新网站账号、需要一个安全密码的用户。",
            "为新员工分配高强度密码的IT管理员。",
            "想知道自己的密码有多难被破解、注重安全的用户。",
            "为共享账号更换弱密码的办公室主管。",
        ),
    },
    capabilities=(
        Capability(
            name="generate_password",
            description="Generate a random password of a given length from a chosen character set.",
            parameters=_obj(
                {
                    "length": _n("Number of characters, 8 to 64", "integer", minimum=8, maximum=64),
                    "character_set": _s("Character set the password may use", enum=list(_ALPHABETS)),
                }
            ),
            returns=_obj(
                {
                    "password": _s("The generated password", minLength=8),
                    "length": _n("Number of characters", "integer", minimum=8),
                    "character_set": _s("Character set used", enum=list(_ALPHABETS)),
                    "entropy_bits": _n("Entropy of the generation process in bits", minimum=0),
                }
            ),
            clause={
                "en": "generate a random password with {character_set} that is {length} characters long",
                "zh": "生成一个{length}位、包含{character_set}的随机密码",
            },
            slots={
                "character_set": _CHARSET,
                "length": Slot({"en": ("12", "16", "20", "24"), "zh": ("12", "16", "20", "24")}),
            },
            simulate=_generate,
            summarize=_generate_text,
        ),
        Capability(
            name="check_password_strength",
            description="Estimate how strong a password is and how long it would take to crack.",
            parameters=_obj({"password": _s("The password to check")}),
            returns=_obj(
                {
                    "strength": _s("Overall rating", enum=_STRENGTHS),
                    "score": _n("Strength score from 0 to 100", "integer", minimum=0, maximum=100),
                    "character_classes": _n(
                        "How many of lowercase, uppercase, digits, symbols it uses", "integer", minimum=0, maximum=4
                    ),
                    "estimated_crack_time": _s("Estimated offline cracking time"),
                    "suggestions": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Ways to make the password stronger",
                    },
                }
            ),
            clause={"en": "check how strong that password is", "zh": "检查一下这个密码的强度"},
            slots={},
            simulate=_strength,
            summarize=_strength_text,
            consumes=("password",),
        ),
    ),
    sequential=(("generate_password", "check_password_strength"),),
    parallel=(
        (
            "generate_password",
            "generate_password",
            Reasoning(
                {"en": "tell me which of the two passwords has more entropy", "zh": "告诉我哪个密码的熵更高"},
                _more_entropy,
            ),
        ),
    ),
)
