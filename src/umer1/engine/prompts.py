"""The one place that writes UME-R1 chat text (spec section 2).

Everything that tokenises a prompt (inference, SFT, RL, evaluation, serving) gets its text from
here, so the byte-exact format the released checkpoints expect lives in a single module.
The chat is rendered directly rather than through a tokenizer's Jinja template, so the text
does not depend on which template a checkpoint happens to ship. Backbones differ in one thing
only, their default system turn (`ChatFormat`): Qwen2-VL's template opens every chat with
"You are a helpful assistant.", Qwen3-VL's opens none. A model records its format's name in its
settings (`EmbeddingSettings.prompt_format`), and `system_turn` maps that name to the turn.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from umer1.utils.errors import InputError

PROMPT_FORMAT_VERSION = "ume-r1/qwen2-vl-chat/1"
QWEN3_VL_PROMPT_FORMAT = "ume-r1/qwen3-vl-chat/1"

GEN_TOKEN = "<gen_emb>"
DISC_TOKEN = "<disc_emb>"
GENERATION_PROMPT = (
    "Represent the above input text, images, videos, or any combination of the three as "
    "embeddings. First output the thinking process in <think> </think> tags and then summarize "
    "the entire input in a word or sentence. Finally, use the <gen_emb> tag to represent the "
    "entire input."
)
SYSTEM_PROMPT = "You are a helpful assistant."

IM_START, IM_END = "<|im_start|>", "<|im_end|>"
IMAGE_BLOCK = "<|vision_start|><|image_pad|><|vision_end|>"
VIDEO_BLOCK = "<|vision_start|><|video_pad|><|vision_end|>"
# Placeholders used by the released SFT records to mark where a visual goes.
IMAGE_PLACEHOLDER, VIDEO_PLACEHOLDER = "<image>", "<video>"

BLANK_IMAGE_SIZE = 28  # the reference attaches a 28x28 white image to every text-only input


def user_text(text: str) -> str:
    """The user-turn text for any query or candidate: TEXT, the disc token, the generation prompt."""
    return f"{text.strip()}\n{DISC_TOKEN}\n{GENERATION_PROMPT}"


def chat(user: str, *, system: str | None = SYSTEM_PROMPT, assistant: str | None = None) -> str:
    """A one-turn Qwen2-VL chat. `user` already holds its vision blocks.

    Without `assistant` the text ends with the generation prompt (`<|im_start|>assistant\\n`);
    with it, the assistant turn is closed by `<|im_end|>\\n` as in training.
    """
    parts = []
    if system is not None:
        parts.append(f"{IM_START}system\n{system}{IM_END}\n")
    parts.append(f"{IM_START}user\n{user}{IM_END}\n{IM_START}assistant\n")
    if assistant is not None:
        parts.append(f"{assistant}{IM_END}\n")
    return "".join(parts)


def render(text: str, images: int = 0, video: bool | int = False, *,
           system: str | None = SYSTEM_PROMPT, assistant: str | None = None) -> str:
    """The chat text (before tokenisation) for one input: visuals first, then the user text.

    `images` is the number of images, `video` the number of videos (True = one). The blank image
    of the text-only rule is an ordinary image here: `prepare` decides when to attach it.
    """
    visuals = IMAGE_BLOCK * images + VIDEO_BLOCK * int(video)
    return chat(visuals + user_text(text), system=system, assistant=assistant)


def render_sft_side(human: str, answer: str, images: int, videos: int, *,
                    system: str | None = SYSTEM_PROMPT) -> str:
    """A released SFT record's side, rendered as written (its whitespace kept).

    `<image>` / `<video>` placeholders become vision blocks in place. Visuals with no
    placeholder (for instance the blank image of a text-only side) are put first, as at inference.
    """
    n_img_ph, n_vid_ph = human.count(IMAGE_PLACEHOLDER), human.count(VIDEO_PLACEHOLDER)
    if n_img_ph > images or n_vid_ph > videos:
        raise ValueError(f"the text has {n_img_ph} <image> and {n_vid_ph} <video> placeholders "
                         f"but the record has {images} images and {videos} videos")
    body = human.replace(IMAGE_PLACEHOLDER, IMAGE_BLOCK).replace(VIDEO_PLACEHOLDER, VIDEO_BLOCK)
    lead = IMAGE_BLOCK * (images - n_img_ph) + VIDEO_BLOCK * (videos - n_vid_ph)
    return chat(lead + body, system=system, assistant=answer)


def sft_human(text: str, images: int = 0, videos: int = 0) -> str:
    """The human turn of an SFT record as the released data writes it.

    One `<image>` / `<video>` placeholder line per visual, then the user text of `user_text`.
    A text-only side has no placeholder: its blank image is attached when the record is read.
    """
    return (f"{IMAGE_PLACEHOLDER}\n" * images + f"{VIDEO_PLACEHOLDER}\n" * videos
            + user_text(text))


def blank_image() -> Image.Image:
    return Image.new("RGB", (BLANK_IMAGE_SIZE, BLANK_IMAGE_SIZE), (255, 255, 255))


@dataclass
class Prompt:
    """What the processor needs for one input: chat text plus visuals in text order.

    `user` is the user's own text and `template` the same chat with that text left out: the
    batch builder tokenises `user` literally (a `<|im_end|>` typed by a user is text, not the
    token) by splicing it into the template's tokens. Prompts rendered from released SFT
    records as written have neither.
    """
    text: str
    images: list[Any] = field(default_factory=list)   # PIL images
    videos: list[Any] = field(default_factory=list)   # each a list of PIL frames
    user: str | None = None
    template: str | None = None


def prepare(text: str, images: list[Any] | None = None, videos: list[Any] | None = None, *,
            blank_image_for_text: bool = True, assistant: str | None = None,
            system: str | None = SYSTEM_PROMPT) -> Prompt:
    """Chat text and visuals for one input, applying the blank-image rule for text-only inputs."""
    images = list(images or [])
    videos = list(videos or [])
    if blank_image_for_text and not images and not videos:
        images = [blank_image()]
    n, v = len(images), len(videos)
    return Prompt(render(text, n, v, system=system, assistant=assistant), images, videos,
                  user=text.strip(), template=render("", n, v, system=system, assistant=assistant))


# Jinja chat templates equivalent to `chat` for the common message layouts, saved with the
# processors this project writes so that `processor.apply_chat_template` gives the same text.
# They differ only in the default system turn: Qwen2-VL's adds one when the chat has none.
_TEMPLATE_BODY = (
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}" + _TEMPLATE_BODY)
QWEN3_VL_CHAT_TEMPLATE = "{% for message in messages %}" + _TEMPLATE_BODY


@dataclass(frozen=True)
class ChatFormat:
    """What a backbone's chat template renders around our text (`Backbone.chat`)."""
    name: str                 # recorded as `EmbeddingSettings.prompt_format`
    system: str | None        # the default system turn (None: the chat opens with the user)
    template: str             # the Jinja template saved with a processor


QWEN2_VL_CHAT = ChatFormat(PROMPT_FORMAT_VERSION, SYSTEM_PROMPT, CHAT_TEMPLATE)
# Qwen3-VL-Instruct's chat_template.json writes a system turn only when the messages hold one,
# so a UME model fine-tuned from it keeps the chat it was instruction-tuned with.
QWEN3_VL_CHAT = ChatFormat(QWEN3_VL_PROMPT_FORMAT, None, QWEN3_VL_CHAT_TEMPLATE)
CHAT_FORMATS = {f.name: f for f in (QWEN2_VL_CHAT, QWEN3_VL_CHAT)}


def system_turn(prompt_format: str) -> str | None:
    """The system turn of a model whose settings name `prompt_format`."""
    try:
        return CHAT_FORMATS[prompt_format].system
    except KeyError:
        raise InputError(f"unknown prompt format {prompt_format!r}; known: "
                         f"{', '.join(CHAT_FORMATS)}", field="prompt_format") from None
