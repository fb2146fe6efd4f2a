// make-tokenizer-cases.mjs — write test/unit/tokenizer_cases.tsv, the expected
// output of the C tokenizer, from Hugging Face's JavaScript tokenizer.
//
// Dev-only: never run at build time or in CI.  The .tsv it writes is
// committed, and test/unit/test_tokenizer.c reads it.
//
//   cd test && npm install --no-package-lock
//   node make-tokenizer-cases.mjs /path/to/model > unit/tokenizer_cases.tsv
//
// MODEL_DIR holds the model's tokenizer.json (all-MiniLM-L6-v2, uncased).
// The "cased" cases use a copy of it with lowercase and strip_accents off.
//
// The JS port gives ids but no offsets, so the spans are derived here by
// running its normalizer one input character at a time (which gives each
// normalised character its source position) and its WordPiece model one word
// at a time.  The ids from that pipeline must equal the port's own encode();
// where they do not, the JS port departs from the Rust/Python tokenizers, and
// the expected values follow Rust/Python (see PATCHES) with a "# note" line.
import { readFileSync } from "node:fs";
import { Tokenizer } from "@huggingface/tokenizers";

const modelDir = process.argv[2];
if (!modelDir) {
  console.error("usage: node make-tokenizer-cases.mjs MODEL_DIR > unit/tokenizer_cases.tsv");
  process.exit(2);
}
const json = JSON.parse(readFileSync(`${modelDir}/tokenizer.json`, "utf8"));
const casedJson = structuredClone(json);
casedJson.normalizer.lowercase = false;
casedJson.normalizer.strip_accents = false;

const tokenizers = {
  uncased: new Tokenizer(json, {}),
  cased: new Tokenizer(casedJson, {}),
};

const long101 = "a".repeat(101);
const long100 = "b".repeat(100);

// [name, input, note]
const CASES = [
  ["hello_world", "hello world"],
  ["hello_world_caps", "Hello World"],
  ["accents", "Café Ünïcödé naïve"],
  ["cjk", "我爱北京天安门"],
  ["cjk_latin", "我爱NLP和BERT模型"],
  ["japanese_mixed", "東京タワーへ行きました with friends"],
  ["hiragana", "こんにちは"],
  ["korean", "안녕하세요 세계"],
  ["punct_run", "hello!!!?..."],
  ["dont", "don't"],
  ["quotes", "\"quoted\" 'single' “curly” ‘apostrophes’ it’s «guillemets»"],
  ["numbers", "3.14159 1,000,000 -42 1e10"],
  ["url", "https://example.com/path?q=1&x=y#frag"],
  ["email", "someone.name+tag@example.co.uk"],
  ["word_101", long101, "longer than max_input_chars_per_word (100): one [UNK]"],
  ["word_100", long100, "exactly max_input_chars_per_word: word-pieces"],
  ["word_101_in_text", `x ${long101} y`],
  ["emoji", "I ❤️ 🍕"],
  ["emoji_zwj", "family 👨‍👩‍👧 ok"],
  ["control_chars", "a\x01b\x7fc d"],
  ["c1_controls", "a\u0085b\u009fc"],
  ["zero_width", "zero\u200bwidth joiner\u200dx bom\ufeffy"],
  ["combining_acute", "e\u0301 cafe\u0301", "Python's slow BertTokenizer applies NFC first; Rust/JS do not (only matters when not stripping accents)"],
  ["greek_sigma", "ΟΔΥΣΣΕΥΣ", "final sigma: Python str.lower() and JS toLowerCase() give ς, Rust's per-char lowercase gives σ"],
  ["greek_sigma_word", "ΣΑΣ ΟΔΟΣ."],
  ["greek_accents", "Ἀθῆναι"],
  ["turkish", "İstanbul"],
  ["arabic", "مرحبا بالعالم"],
  ["hebrew", "שלום עולם"],
  ["arabic_harakat", "كَتَبَ"],
  ["tabs_newlines", "tab\there\nnew\r\nline"],
  ["empty", ""],
  ["blank", "   "],
  ["whitespace_mix", " \t\n\u00a0\u3000\u2028\u2029 "],
  ["soft_hyphen", "soft\u00adhyphen"],
  ["fullwidth", "ＡＢＣ ａｂｃ １２３！"],
  ["math", "∑ x² ≤ ∞ ± √2 ≠ π ∫"],
  ["sentence_1", "The weather is lovely today."],
  ["sentence_2", "It's so sunny outside!"],
  ["sentence_3", "He drove to the stadium."],
  ["mixed_case_pieces", "Tokenization UNAFFABLE unaffable"],
  ["ligature_kelvin", "ﬁne K Å Ω"],
  ["hangul_jamo_split", "한국어"],
  ["cjk_compat", "\uf900\ufa0e"],
  ["cjk_ext_b", "\u{20000}\u{20001}x", "supplementary CJK ideographs: the JS port checks UTF-16 code units and adds no spaces; Python/Rust do"],
  ["unassigned", "a\u0378b", "unassigned code points (Cn): Python/Rust drop them as control characters, the JS port keeps them"],
  ["private_use", "a\ue000b"],
  ["cjk_punct", "你好，世界！「引用」"],
  ["dollar_caret", "$5^2 `x` ~y_z"],
  ["nul_replacement", "a\u0000b\ufffdc"],
  ["vietnamese", "Tiếng Việt có dấu"],
  ["devanagari", "नमस्ते दुनिया"],
  ["thai", "สวัสดีครับ"],
];

// Python/Rust behaviour where the JS port differs, applied per character.
function isPythonCjk(cp) {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}
const PATCHES = [
  // unassigned code points are control characters for Python and Rust
  (c, n) => (/^\p{Cn}$/u.test(c) ? "" : n),
  // Python/Rust space out every CJK ideograph, astral ones too
  (c, n, cfg) =>
    cfg.handle_chinese_chars && c.codePointAt(0) > 0xffff && isPythonCjk(c.codePointAt(0))
      ? ` ${n} ` : n,
];

function normalizeChar(tok, cfg, c) {
  let n = tok.normalizer.normalize(c);
  for (const patch of PATCHES) n = patch(c, n, cfg);
  return n;
}

function classify(tok, c) {
  if (/^\s$/u.test(c)) return "space";
  // the port's own BertPreTokenizer regex isolates punctuation
  const parts = ("x" + c + "x").match(tok.pre_tokenizer.pattern) || [];
  return parts.length === 3 ? "punct" : "word";
}

// ids and [start, end) code point spans, as the C tokenizer must give them
function expected(tok, cfg, text) {
  const src = [...text];
  const norm = []; // [char, source index]
  src.forEach((c, i) => {
    for (const n of normalizeChar(tok, cfg, c)) norm.push([n, i]);
  });

  const words = []; // arrays of [char, source index]
  let cur = [];
  const flush = () => {
    if (cur.length) words.push(cur);
    cur = [];
  };
  for (const item of norm) {
    const kind = classify(tok, item[0]);
    if (kind === "space") flush();
    else if (kind === "punct") {
      flush();
      cur.push(item);
      flush();
    } else cur.push(item);
  }
  flush();

  const model = tok.model;
  const ids = [101];
  const spans = [[0, 0]];
  for (const w of words) {
    const word = w.map((x) => x[0]).join("");
    const pieces = model.encode([word]);
    if (pieces.length === 1 && pieces[0] === model.unk_token) {
      ids.push(model.unk_token_id);
      spans.push([w[0][1], w[w.length - 1][1] + 1]);
      continue;
    }
    let at = 0;
    for (const [k, p] of pieces.entries()) {
      const len = [...(k > 0 ? p.slice(2) : p)].length;
      const chars = w.slice(at, at + len);
      ids.push(model.tokens_to_ids.get(p));
      spans.push([Math.min(...chars.map((x) => x[1])), Math.max(...chars.map((x) => x[1])) + 1]);
      at += len;
    }
    if (at !== w.length) throw new Error(`pieces do not cover word ${JSON.stringify(word)}`);
  }
  ids.push(102);
  spans.push([0, 0]);
  return { ids, spans };
}

// Tab-separated and one line per case: escape what would break that or hide.
function escape(s) {
  let out = "";
  for (const c of s) {
    if (c === "\\") out += "\\\\";
    else if (c === "\t") out += "\\t";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (/^[\p{C}\p{Z}\p{M}]$/u.test(c) && c !== " ")
      out += `\\u{${c.codePointAt(0).toString(16).toUpperCase()}}`;
    else out += c;
  }
  return out;
}

const lines = [
  "# Generated by test/make-tokenizer-cases.mjs from @huggingface/tokenizers (JS port); do not edit.",
  "# mode<TAB>name<TAB>input (escaped: \\\\ \\t \\n \\r \\u{HEX})<TAB>ids<TAB>spans start-end in code points",
  "# uncased = tokenizer.json as shipped (lowercase, strip accents, CJK); cased = lowercase and strip_accents off.",
  "# Not covered: the JS/Rust/Python tokenizers also match special tokens such as \"[SEP]\" typed in the",
  "# text; the C tokenizer treats them as plain text.",
];
let deviations = 0;
for (const mode of ["uncased", "cased"]) {
  const tok = tokenizers[mode];
  const cfg = (mode === "cased" ? casedJson : json).normalizer;
  for (const [name, text, note] of CASES) {
    const { ids, spans } = expected(tok, cfg, text);
    const js = tok.encode(text).ids;
    if (note) lines.push(`# note (${name}): ${note}`);
    if (js.join(" ") !== ids.join(" ")) {
      deviations++;
      lines.push(`# note (${name}, ${mode}): the JS port gives ${js.join(" ")}; expected below follows the Rust tokenizer`);
      console.error(`${mode} ${name}: JS ${js.join(" ")} vs Rust ${ids.join(" ")}`);
    }
    lines.push([mode, name, escape(text), ids.join(" "), spans.map((s) => s.join("-")).join(" ")].join("\t"));
  }
}
process.stdout.write(lines.join("\n") + "\n");
console.error(`${CASES.length * 2} cases, ${deviations} where the JS port deviates`);
