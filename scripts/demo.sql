-- The demo (setup.sh, and test/package.sh on the installed Debian package):
-- the BLIS kernel set, then three similarities the README shows.
CREATE EXTENSION IF NOT EXISTS bert;
SELECT kernel, kernel_reason, blis_version FROM bert_info();
SELECT a, b, round(bert_similarity(a, b)::numeric, 4) AS cosine
FROM (VALUES ('The weather is lovely today.', 'It''s so sunny outside!'),
             ('The weather is lovely today.', 'He drove to the stadium.'),
             ('It''s so sunny outside!', 'He drove to the stadium.')) AS t(a, b);
