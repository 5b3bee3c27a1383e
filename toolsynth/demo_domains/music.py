"""Demo domain — Music: an artist's top tracks and playlists built from them."""

from __future__ import annotations

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
from toolsynth.language import CJK as _CJK

_ARTIST = Slot(
    {
        "en": ("Mara Quinn", "The Velvet Hours", "Kofi Mensah", "Ivy Lark", "Blue Harbor"),
        "zh": ("林夏", "苏沐", "白鹭乐队", "陈一鸣", "南风乐团"),
    }
)
_WORDS_EN = (
    ("Golden", "Paper", "Midnight", "Silver", "Quiet", "Electric", "Northern", "Velvet"),
    ("Hour", "Lanterns", "Highway", "Rain", "Letters", "Tide", "Garden", "Skyline"),
)
_WORDS_ZH = (
    ("夏夜", "远方", "晚风", "星河", "旧城", "海边", "雨后", "月光"),
    ("的信", "来信", "小路", "之歌", "往事", "日记", "晴天", "列车"),
)


def _fmt(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def _top_tracks(args: dict[str, Any], rng: random.Random) -> Result:
    artist = str(args["artist"])
    first, second = _WORDS_ZH if _CJK.search(artist) else _WORDS_EN
    sep = "" if _CJK.search(artist) else " "
    titles: list[str] = []
    while len(titles) < max(1, min(int(args["limit"]), 10)):
        title = f"{rng.choice(first)}{sep}{rng.choice(second)}"
        if title not in titles:
            titles.append(title)
    tracks = [
        {"track_id": f"trk_{rng.randint(10**6, 10**7 - 1)}", "title": t, "duration_seconds": rng.randint(150, 320)}
        for t in titles
    ]
    return {
        "artist": artist,
        "tracks": tracks,
        "track_ids": [t["track_id"] for t in tracks],
        "total_duration_seconds": sum(t["duration_seconds"] for t in tracks),
    }


def _top_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    songs = ", ".join(f"{t['title']} ({_fmt(t['duration_seconds'])})" for t in r["tracks"])
    songs_zh = "、".join(f"《{t['title']}》（{_fmt(t['duration_seconds'])}）" for t in r["tracks"])
    return _t(
        lang,
        f"Top tracks by {r['artist']}: {songs}; {_fmt(r['total_duration_seconds'])} in total.",
        f"{r['artist']}最热门的歌曲：{songs_zh}，总时长{_fmt(r['total_duration_seconds'])}。",
    )


def _playlist(args: dict[str, Any], rng: random.Random) -> Result:
    ids = [str(t) for t in args["track_ids"]]
    playlist_id = f"pl_{rng.randint(10**7, 10**8 - 1)}"
    return {
        "playlist_id": playlist_id,
        "playlist_name": str(args["playlist_name"]),
        "track_count": len(ids),
        "url": f"https://music.example.com/playlist/{playlist_id}",
    }


def _playlist_text(args: dict[str, Any], r: Result, lang: Lang) -> str:
    return _t(
        lang,
        f'Created the playlist "{r["playlist_name"]}" with {r["track_count"]} tracks: {r["url"]}',
        f"已创建歌单“{r['playlist_name']}”，共{r['track_count']}首歌：{r['url']}",
    )


def _longer(results: list[Result], lang: Lang) -> str:
    a, b = results[0], results[1]
    if a["total_duration_seconds"] == b["total_duration_seconds"]:
        return _t(
            lang,
            f"Both sets of top tracks run {_fmt(a['total_duration_seconds'])}.",
            f"两组热门歌曲的总时长相同，都是{_fmt(a['total_duration_seconds'])}。",
        )
    more, less = (a, b) if a["total_duration_seconds"] > b["total_duration_seconds"] else (b, a)
    return _t(
        lang,
        f"{more['artist']}'s top tracks run longer: {_fmt(more['total_duration_seconds'])} versus "
        f"{_fmt(less['total_duration_seconds'])} for {less['artist']}.",
        f"{more['artist']}的热门歌曲总时长更长：{_fmt(more['total_duration_seconds'])}，"
        f"而{less['artist']}是{_fmt(less['total_duration_seconds'])}。",
    )


MUSIC = Domain(
    name="music",
    keywords=("music", "song", "playlist", "album", "singer", "音乐", "歌曲", "歌单", "专辑", "歌手", "首歌"),
    scenarios={
        "en": (
            "A listener discovers an artist's most popular songs and saves them to a playlist.",
            "Someone preparing a party playlist gathers songs from favourite artists.",
            "A music fan compares the popular songs of two artists.",
            "Someone preparing a party collects popular songs by favourite artists.",
        ),
        "zh": (
            "想听某位歌手最热门歌曲并收藏成歌单的听众。",
            "为聚会准备歌单、收集喜爱歌手歌曲的人。",
            "比较两位歌手热门歌曲的音乐爱好者。",
            "为聚会把喜欢歌手的热门歌曲收藏成歌单的人。",
        ),
    },
    capabilities=(
        Capability(
            name="get_artist_top_tracks",
            description="Get an artist's most-played tracks.",
            parameters=_obj(
                {
                    "artist": _s("Artist or band name"),
                    "limit": _n("Number of tracks to return, 1 to 10", "integer", minimum=1, maximum=10),
                }
            ),
            returns=_obj(
                {
                    "artist": _s("Artist name"),
                    "tracks": {
                        "type": "array",
                        "description": "Tracks, most played first",
                        "items": _obj(
                            {
                                "track_id": _s("Track identifier"),
                                "title": _s("Track title"),
                                "duration_seconds": _n("Length in seconds", "integer", minimum=1),
                            }
                        ),
                    },
                    "track_ids": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "The track identifiers in the same order",
                    },
                    "total_duration_seconds": _n("Combined length in seconds", "integer", minimum=0),
                }
            ),
            clause={"en": "get the top {limit} tracks by {artist}", "zh": "获取{artist}最热门的{limit}首歌"},
            slots={"limit": Slot({"en": ("3", "4", "5"), "zh": ("3", "4", "5")}), "artist": _ARTIST},
            simulate=_top_tracks,
            summarize=_top_text,
        ),
        Capability(
            name="create_playlist",
            description="Create a playlist from a list of tracks.",
            parameters=_obj(
                {
                    "playlist_name": _s("Name of the new playlist"),
                    "track_ids": {
                        "type": "array",
                        "items": {"type": "string"},
                        "minItems": 1,
                        "description": "Tracks to add, in order",
                    },
                }
            ),
            returns=_obj(
                {
                    "playlist_id": _s("Playlist identifier"),
                    "playlist_name": _s("Playlist name"),
                    "track_count": _n("Number of tracks added", "integer", minimum=0),
                    "url": _s("Link to the playlist"),
                }
            ),
            clause={
                "en": "create a playlist called {playlist_name} from those tracks",
                "zh": "用这些歌创建一个名为“{playlist_name}”的歌单",
            },
            slots={
                "playlist_name": Slot(
                    {
                        "en": ("Sunday Chill", "Road Trip Mix", "Focus Time", "Late Night Drive"),
                        "zh": ("周末放松", "通勤路上", "深夜电台", "午后咖啡"),
                    }
                )
            },
            simulate=_playlist,
            summarize=_playlist_text,
            consumes=("track_ids",),
        ),
    ),
    sequential=(("get_artist_top_tracks", "create_playlist"),),
    parallel=(
        (
            "get_artist_top_tracks",
            "get_artist_top_tracks",
            Reasoning(
                {
                    "en": "tell me whose top tracks add up to more listening time",
                    "zh": "告诉我哪位歌手的热门歌曲总时长更长",
                },
                _longer,
            ),
        ),
    ),
)
