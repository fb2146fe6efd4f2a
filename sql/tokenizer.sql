-- Tokenizer parity with Hugging Face's BertTokenizer (uncased all-MiniLM-L6-v2).
-- Reference ids come from Hugging Face's JavaScript tokenizer on the model's
-- tokenizer.json (test/make-tokenizer-cases.mjs -> test/unit/tokenizer_cases.tsv);
-- where the JS port departs from the Rust/Python tokenizers (final sigma,
-- CJK extension B, unassigned code points) the Rust behaviour is expected.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS bert;
RESET client_min_messages;

SELECT bert_token_ids('hello world');
SELECT bert_tokenize('hello world');
SELECT bert_tokenize('Unaffable naïveté!');

-- every case: the ids, and whether they equal the reference
SELECT name, bert_token_ids(input) = ref::int[] AS matches_hf, bert_token_ids(input) AS ids
FROM (VALUES
  ('hello_world', E'hello world', '{101,7592,2088,102}'),
  ('hello_world_caps', E'Hello World', '{101,7592,2088,102}'),
  ('accents', E'Café Ünïcödé naïve', '{101,7668,27260,15743,102}'),
  ('cjk', E'我爱北京天安门', '{101,1855,100,1781,1755,1811,1820,100,102}'),
  ('cjk_latin', E'我爱NLP和BERT模型', '{101,1855,100,17953,2361,1796,14324,100,100,102}'),
  ('japanese_mixed', E'東京タワーへ行きました with friends', '{101,1879,1755,1709,30262,30265,30201,1945,1652,30203,30183,30187,2007,2814,102}'),
  ('hiragana', E'こんにちは', '{101,1655,30217,30194,30188,30198,102}'),
  ('korean', E'안녕하세요 세계', '{101,1463,30006,30021,29992,30010,30025,30005,30006,29997,30009,29999,30013,100,102}'),
  ('punct_run', E'hello!!!?...', '{101,7592,999,999,999,1029,1012,1012,1012,102}'),
  ('dont', E'don''t', '{101,2123,1005,1056,102}'),
  ('quotes', E'"quoted" ''single'' “curly” ‘apostrophes’ it’s «guillemets»', '{101,1000,9339,1000,1005,2309,1005,1523,17546,1524,1520,9706,14122,18981,15689,1521,2009,1521,1055,1077,26458,6216,11368,2015,1090,102}'),
  ('numbers', E'3.14159 1,000,000 -42 1e10', '{101,1017,1012,15471,28154,1015,1010,2199,1010,2199,1011,4413,1015,2063,10790,102}'),
  ('url', E'https://example.com/path?q=1&x=y#frag', '{101,16770,1024,1013,1013,2742,1012,4012,1013,4130,1029,1053,1027,1015,1004,1060,1027,1061,1001,25312,2290,102}'),
  ('email', E'someone.name+tag@example.co.uk', '{101,2619,1012,2171,1009,6415,1030,2742,1012,2522,1012,2866,102}'),
  ('word_101', repeat('a', 101), '{101,100,102}'),
  ('word_100', repeat('b', 100), '{101,22861,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,10322,102}'),
  ('word_101_in_text', E'x aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa y', '{101,1060,100,1061,102}'),
  ('emoji', E'I ❤️ 🍕', '{101,1045,100,100,102}'),
  ('emoji_zwj', E'family 👨\u200d👩\u200d👧 ok', '{101,2155,100,7929,102}'),
  ('control_chars', E'a\u0001b\u007fc d', '{101,5925,1040,102}'),
  ('c1_controls', E'a\u0085b\u009fc', '{101,5925,102}'),
  ('zero_width', E'zero\u200bwidth joiner\u200dx bom\ufeffy', '{101,5717,9148,11927,2232,3693,2121,2595,8945,8029,102}'),
  ('combining_acute', E'e\u0301 cafe\u0301', '{101,1041,7668,102}'),
  ('greek_sigma', E'ΟΔΥΣΣΕΥΣ', '{101,1169,29722,29735,29733,29733,29723,29735,29733,102}'),
  ('greek_sigma_word', E'ΣΑΣ ΟΔΟΣ.', '{101,1173,14608,29733,1169,29722,29730,29733,1012,102}'),
  ('greek_accents', E'Ἀθῆναι', '{101,1155,29725,24824,16177,14608,18199,102}'),
  ('turkish', E'İstanbul', '{101,9960,102}'),
  ('arabic', E'مرحبا بالعالم', '{101,1295,17149,29820,29816,25573,1271,25573,23673,29830,25573,23673,22192,102}'),
  ('hebrew', E'שלום עולם', '{101,1266,29799,29792,29800,1259,29792,29799,29800,102}'),
  ('arabic_harakat', E'كَتَبَ', '{101,1293,29817,29816,102}'),
  ('tabs_newlines', E'tab\u0009here\u000anew\u000d\u000aline', '{101,21628,2182,2047,2240,102}'),
  ('empty', E'', '{101,102}'),
  ('blank', E'   ', '{101,102}'),
  ('whitespace_mix', E' \u0009\u000a 　\u2028\u2029 ', '{101,102}'),
  ('soft_hyphen', E'soft\u00adhyphen', '{101,3730,10536,8458,2368,102}'),
  ('fullwidth', E'ＡＢＣ ａｂｃ １２３！', '{101,100,100,100,1986,102}'),
  ('math', E'∑ x² ≤ ∞ ± √2 ≠ π ∫', '{101,100,1060,10701,1608,1601,1081,1600,2475,1027,1170,100,102}'),
  ('sentence_1', E'The weather is lovely today.', '{101,1996,4633,2003,8403,2651,1012,102}'),
  ('sentence_2', E'It''s so sunny outside!', '{101,2009,1005,1055,2061,11559,2648,999,102}'),
  ('sentence_3', E'He drove to the stadium.', '{101,2002,5225,2000,1996,3346,1012,102}'),
  ('mixed_case_pieces', E'Tokenization UNAFFABLE unaffable', '{101,19204,3989,14477,20961,3468,14477,20961,3468,102}'),
  ('ligature_kelvin', E'ﬁne K Å Ω', '{101,1984,2638,1047,1037,1179,102}'),
  ('hangul_jamo_split', E'한국어', '{101,1469,30006,30021,29991,30014,30020,29999,30008,102}'),
  ('cjk_compat', E'豈﨎', '{101,100,100,102}'),
  ('cjk_ext_b', E'𠀀𠀁x', '{101,100,100,1060,102}'),
  ('unassigned', E'a͸b', '{101,11113,102}'),
  ('private_use', E'a\ue000b', '{101,11113,102}'),
  ('cjk_punct', E'你好，世界！「引用」', '{101,100,100,1989,1745,100,1986,1641,100,100,1642,102}'),
  ('dollar_caret', E'$5^2 `x` ~y_z', '{101,1002,1019,1034,1016,1036,1060,1036,1066,1061,1035,1062,102}'),
  ('vietnamese', E'Tiếng Việt có dấu', '{101,5495,3070,19710,2522,4830,2226,102}'),
  ('devanagari', E'नमस्ते दुनिया', '{101,1327,29867,29874,29859,1325,29863,29877,29868,29876,102}'),
  ('thai', E'สวัสดีครับ', '{101,100,102}')
) AS t(name, input, ref)
ORDER BY name;

-- word pieces for a few of them
SELECT bert_tokenize(E'Caf\u00e9 \u00dcn\u00efc\u00f6d\u00e9 na\u00efve') AS accents,
       bert_tokenize('我爱NLP和BERT模型') AS cjk,
       bert_tokenize('hello!!!?...') AS punct,
       bert_tokenize(E'I \u2764\ufe0f \U0001F355') AS emoji;

-- truncation: at most 256 ids, [SEP] kept; the count is untruncated
SELECT array_length(bert_token_ids(repeat('word ', 1000)), 1) AS kept,
       (bert_token_ids(repeat('word ', 1000)))[256] AS last_id,
       bert_token_count(repeat('word ', 1000)) AS counted,
       bert_token_count('') AS empty_count,
       bert_token_count('hello world') AS hello_count;
