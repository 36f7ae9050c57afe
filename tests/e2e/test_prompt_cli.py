"""`limarp prompt`: renders the LimaRP prompt from CHAT.json and character cards, byte for byte,
with presets, length levels and modifier options; --json adds segments, stop strings and tokens."""
import base64
import json
import os
import struct
import zlib

from common import ASSETS, Checker, run, scratch

c = Checker()
d = scratch()

chat = {
    "char": "Aqua", "user": "Kazuma",
    "char_persona": "A goddess of water.", "user_persona": "A NEET.",
    "scenario": "{{char}} and {{user}} are broke.", "length": "medium",
    "messages": [{"role": "user", "text": "Any quests?"}, {"role": "char", "text": "Frogs!"},
                 {"role": "user", "text": "Fine."}],
}
chat_path = os.path.join(d, "chat.json")
with open(chat_path, "w") as f:
    json.dump(chat, f)

head = ("### Instruction:\n"
        "Aqua's Persona: A goddess of water.\n"
        "\n"
        "Kazuma's Persona: A NEET.\n"
        "\n"
        "Scenario: Aqua and Kazuma are broke.\n"
        "\n"
        "Play the role of Aqua. You must engage in a roleplaying chat with Kazuma below this line. "
        "Do not write dialogues and narration for Kazuma.\n"
        "\n"
        "### Input:\n"
        "Kazuma: Any quests?\n"
        "\n")
expected = head + ("### Response:\n"
                   "Aqua: Frogs!\n"
                   "\n"
                   "### Input:\n"
                   "Kazuma: Fine.\n"
                   "\n"
                   "### Response: (length = medium)\n"
                   "Aqua:")

out, _, _ = run("prompt", "--chat", chat_path)
c.check(out == expected, "prompt --chat prints the exact prompt (no trailing newline)")

out, _, _ = run("prompt", "--chat", chat_path, "--length", "humongous")
c.check(out.endswith("### Response: (length = humongous)\nAqua:"), "--length sets the open header's level")

out, _, _ = run("prompt", "--chat", chat_path, "--modifier", "every", "--length", "tiny")
c.check(out.count("(length = tiny)") == 2 and "### Response: (length = tiny)\nAqua: Frogs!" in out,
        "--modifier every puts the level on every response header")

out, _, _ = run("prompt", "--chat", chat_path, "--modifier", "none")
c.check("(length" not in out and out.endswith("### Response:\nAqua:"), "--modifier none")

out, _, _ = run("prompt", "--chat", chat_path, "--preset", "LimaRP-Alpaca")
c.check(out == expected, "the built-in LimaRP-Alpaca preset gives the same bytes")

preset_path = os.path.join(d, "limarp-alpaca-old.json")
run("prompt", "--export-preset", preset_path, "--preset-generation", "old")
p = json.load(open(preset_path))
c.check(p.get("separator_sequence") == "" and p.get("names") is True and p["last_output_sequence"].endswith("(length = tiny)"),
        "--export-preset writes the old-generation LimaRP-Alpaca preset")
out, _, _ = run("prompt", "--chat", chat_path, "--preset", preset_path)
c.check(out == expected, "the exported preset file renders the same bytes")

out, _, _ = run("prompt", "--chat", chat_path, "--json")
j = json.loads(out)
c.check(j["prompt"] == expected, "--json prompt")
c.check([s["kind"] for s in j["segments"]] == ["instruction", "message", "message", "message", "open_header"],
        "--json segments")
c.check("".join(s["text"] for s in j["segments"]) == expected, "segments concatenate to the prompt")
c.check("\nKazuma:" in j["stop_strings"] and "### Input" in j["stop_strings"], "--json stop strings")

# A character card in a PNG (tEXt "chara", base64 JSON), built here.
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)

card = {"spec": "chara_card_v2", "spec_version": "2.0",
        "data": {"name": "Mira", "description": "{{char}} is a shy librarian.", "personality": "",
                 "scenario": "Closing time.", "first_mes": "Oh! Hello, {{user}}.", "mes_example": ""}}
png = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
       + png_chunk(b"tEXt", b"chara\0" + base64.b64encode(json.dumps(card).encode()))
       + png_chunk(b"IDAT", zlib.compress(b"\0\0\0\0\0")) + png_chunk(b"IEND", b""))
card_path = os.path.join(d, "mira.png")
open(card_path, "wb").write(png)
out, _, _ = run("prompt", "--card", card_path, "--user", "Tom", "--length", "short")
c.check(out == ("### Instruction:\n"
                "Mira's Persona: Mira is a shy librarian.\n"
                "\n"
                "Scenario: Closing time.\n"
                "\n"
                "Play the role of Mira. You must engage in a roleplaying chat with Tom below this line. "
                "Do not write dialogues and narration for Tom.\n"
                "\n"
                "### Response:\n"
                "Mira: Oh! Hello, Tom.\n"
                "\n"
                "### Response: (length = short)\n"
                "Mira:"), "--card PNG: persona, scenario, greeting, macros")

bad_path = os.path.join(d, "bad.json")
open(bad_path, "w").write('{"messages": [{"role": "narrator", "text": "x"}]}')
_, err, rc = run("prompt", "--chat", bad_path, check=False)
c.check(rc == 1 and 'messages[0].role must be "user" or "char"' in err, "a bad chat file names the field")
_, err, rc = run("prompt", "--chat", chat_path, "--length", "gigantic", check=False)
c.check(rc == 1 and "unknown length" in err, "a bad --length is an error")
open(os.path.join(d, "cut.png"), "wb").write(png[:60])
_, err, rc = run("prompt", "--card", os.path.join(d, "cut.png"), check=False)
c.check(rc == 1 and "truncated" in err, "a truncated card is an error")

tokenizer = os.path.join(ASSETS, "llama2-tokenizer", "tokenizer.model")
if os.path.exists(tokenizer):
    out, _, _ = run("prompt", "--chat", chat_path, "--json", "--tokenizer", tokenizer)
    t = json.loads(out)["tokens"]
    c.check(t[0] == 1, "tokens start with BOS")
    c.check(t[-3:] == [29909, 21408, 29901], "tokens end with 'Aqua:' and no space token")
else:
    print("skip tokenizer checks: no llama2 tokenizer asset")
c.done()
