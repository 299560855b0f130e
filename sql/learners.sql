-- The learners through ml_train: linear (exact on an exact system, the
-- same fit as mlops.ml_gram_agg), lasso and elastic_net (scikit-learn's
-- coefficients, to 1e-6), logistic (separable data: accuracy 1 and finite
-- probabilities; iris: scikit-learn's probabilities, to 1e-5), naive_bayes
-- (scikit-learn's GaussianNB on iris, to 1e-9; categorical features and
-- NULLs), kmeans (three blobs), bad hyperparameters, corrupted payloads.
-- Expected values: test/learners_expected.py (scikit-learn, run once).
SET extra_float_digits = 0;

-- OLS on an exact system: y = 3 + 2 x1 - 0.5 x2 + 0.25 x3.
CREATE TABLE lr_exact AS
SELECT i AS id, i::float8 AS x1, ((i * i) % 17)::float8 AS x2, sqrt(i) AS x3,
       3 + 2 * i - 0.5 * ((i * i) % 17) + 0.25 * sqrt(i) AS y, i % 5 = 0 AS test
FROM generate_series(1, 60) i;
SELECT ml_create_project('lr_exact', 'lr_exact', 'y', 'regression') > 0 AS created;
SELECT version, algorithm, (metrics->>'rmse')::float8 < 1e-9 AS exact
FROM ml_train('lr_exact', 'linear', '{}', '{"holdout_column": "test", "exclude": ["id"]}');
SELECT max(abs(mlops.score_value('lr_exact', m.id, e) - e.y)) < 1e-9 AS predictions_exact
FROM lr_exact e, mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name = 'lr_exact' AND m.version = 1;

-- A noisy table: the linear learner and the parallel aggregate fit the same
-- coefficients (predictions equal to 1e-9) on the same training rows.
CREATE TABLE lr_noisy AS
SELECT i AS id, sin(i) AS x1, cos(i * 0.3) * 4 AS x2, (i % 11) / 3.0 AS x3, sqrt(i) AS x4,
       1.0 + 2 * sin(i) - 1.5 * cos(i * 0.3) * 4 + 0.3 * ((i % 11) / 3.0) + sin(i * 7.7) * 0.8 AS y,
       i % 5 = 0 AS test
FROM generate_series(1, 200) i;
SELECT ml_create_project('lr_noisy', 'lr_noisy', 'y', 'regression') > 0 AS created;
SELECT version, algorithm FROM ml_train('lr_noisy', 'linear', '{}', '{"holdout_column": "test", "exclude": ["id"]}');
WITH agg AS (
    SELECT mlops.ml_linear_solve(mlops.ml_gram_agg(y, ARRAY[x1, x2, x3, x4])) AS c
    FROM lr_noisy WHERE NOT test
), model AS (
    SELECT m.id FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
    WHERE p.name = 'lr_noisy' AND m.version = 1
)
SELECT max(abs(mlops.score_value('lr_noisy', model.id, n)
               - (c[1] + c[2] * x1 + c[3] * x2 + c[4] * x3 + c[5] * x4))) < 1e-9 AS same_fit
FROM lr_noisy n, agg, model;

-- Lasso and elastic net: scikit-learn's predictions on the test rows, to 1e-6.
CREATE TEMP TABLE lasso_expected (id int, y float8);
INSERT INTO lasso_expected VALUES (5, -0.7187122560511556), (10, 6.626202907937885), (15, 3.880015747354024),
    (20, -2.0978656524143684), (25, -0.9223623486861976), (30, 5.182889506002621),
    (35, 3.2500897329220777), (40, -1.8814153278105554), (45, -0.6699106610736065),
    (50, 5.51636577656556), (55, 3.352626989752091), (60, -2.9319783289083228),
    (65, -1.2262104906491145), (70, 6.0807584038699805), (75, 6.164933158902237),
    (80, -2.9963366474728934), (85, -4.063629202302185), (90, 4.666497286587279),
    (95, 8.624883720628276), (100, -0.6495042373674516), (105, -6.0745569066361655),
    (110, 1.1249888279522486), (115, 9.109394047844075), (120, 3.7067320197629794),
    (125, -5.46001040723381), (130, -1.5144137307987136), (135, 7.0234643056683),
    (140, 5.900420707809453), (145, -3.017149138579417), (150, -2.767739091035735),
    (155, 4.302120821584292), (160, 5.724578700336726), (165, -1.2039058145578905),
    (170, -2.184287019356441), (175, 3.9580832591179895), (180, 4.762107941837174),
    (185, -0.4679178303788676), (190, -2.0276252677507074), (195, 4.302107703313118),
    (200, 5.1982418091228855);
CREATE TEMP TABLE enet_expected (id int, y float8);
INSERT INTO enet_expected VALUES (5, -0.5087334401763413), (10, 6.084804716747574), (15, 3.631926441903185),
    (20, -1.5825616668205502), (25, -0.6744177766233477), (30, 4.757274800731837),
    (35, 2.9929580399666023), (40, -1.426115375414467), (45, -0.4282473319058948),
    (50, 5.062267889223466), (55, 3.0282222562877257), (60, -2.4362194798651),
    (65, -0.8014205158888255), (70, 5.587396737743155), (75, 5.670676845539655),
    (80, -2.5546834819248305), (85, -3.3918306061797345), (90, 4.313943452499981),
    (95, 7.876502234872112), (100, -0.47836918435657183), (105, -5.239720940044393),
    (110, 1.103150327559307), (115, 8.29198259633135), (120, 3.555454507133909),
    (125, -4.7044251670238255), (130, -1.158386507811244), (135, 6.374515135665824),
    (140, 5.4917088038025845), (145, -2.513096007256272), (150, -2.2845149436986256),
    (155, 3.888987441579033), (160, 5.270896139135414), (165, -0.9072597232995487),
    (170, -1.7412353939261076), (175, 3.7086571559471038), (180, 4.340292311179872),
    (185, -0.16732603801558765), (190, -1.5965955351809173), (195, 4.037812031089996),
    (200, 4.6961263552582535);
SELECT version, algorithm FROM ml_train('lr_noisy', 'lasso',
    '{"alpha": 0.1, "tol": 1e-10, "max_iter": 100000}', '{"holdout_column": "test", "exclude": ["id"]}');
SELECT version, algorithm FROM ml_train('lr_noisy', 'elastic_net',
    '{"alpha": 0.2, "l1_ratio": 0.3, "tol": 1e-10, "max_iter": 100000}', '{"holdout_column": "test", "exclude": ["id"]}');
SELECT version, algorithm, hyperparameters FROM ml_models
WHERE project = 'lr_noisy' ORDER BY version;
SELECT a.algorithm, count(*) AS rows, max(abs(mlops.score_value('lr_noisy', a.id, n) - x.y)) < 1e-6 AS same_as_sklearn
FROM (SELECT m.id, m.algorithm, m.version FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
      WHERE p.name = 'lr_noisy' AND m.version IN (2, 3)) a
JOIN lr_noisy n ON n.test
JOIN (SELECT 'lasso' AS algorithm, * FROM lasso_expected
      UNION ALL SELECT 'elastic_net', * FROM enet_expected) x ON x.algorithm = a.algorithm AND x.id = n.id
GROUP BY a.algorithm ORDER BY a.algorithm;
-- the lasso zeroes the feature that is not in the target (x4)
SELECT algorithm, metrics->'importance'->>'x4' AS x4_importance
FROM ml_models WHERE project = 'lr_noisy' AND version IN (2, 3) ORDER BY version;

-- Logistic regression on separable classes: accuracy 1, finite probabilities.
CREATE TABLE sep AS
SELECT i AS id, i::float8 + (i >= 10)::int * 5 AS x, CASE WHEN i < 10 THEN 'lo' ELSE 'hi' END AS label,
       i % 4 = 0 AS test
FROM generate_series(0, 19) i;
SELECT ml_create_project('sep', 'sep', 'label', 'classification') > 0 AS created;
SELECT version, algorithm, metrics->>'accuracy' AS accuracy
FROM ml_train('sep', 'logistic', '{"C": 1000000}', '{"holdout_column": "test", "exclude": ["id"]}');
SELECT bool_and(v::float8 BETWEEN 0 AND 1 AND v::float8 = v::float8) AS finite,
       count(*) AS probabilities
FROM sep s, mlops.models m JOIN mlops.projects p ON p.id = m.project_id,
     jsonb_each_text(mlops.score_proba('sep', m.id, s)) e(k, v)
WHERE p.name = 'sep';

-- Iris, multinomial: scikit-learn's probabilities (newton-cg, tol 1e-14).
CREATE TABLE iris (id int, sepal_length float8, sepal_width float8, petal_length float8,
                   petal_width float8, species text);
INSERT INTO iris VALUES (1, 5.1, 3.5, 1.4, 0.2, 'setosa'), (2, 4.9, 3.0, 1.4, 0.2, 'setosa'),
    (3, 4.7, 3.2, 1.3, 0.2, 'setosa'), (4, 4.6, 3.1, 1.5, 0.2, 'setosa'),
    (5, 5.0, 3.6, 1.4, 0.2, 'setosa'), (6, 5.4, 3.9, 1.7, 0.4, 'setosa'),
    (7, 4.6, 3.4, 1.4, 0.3, 'setosa'), (8, 5.0, 3.4, 1.5, 0.2, 'setosa'),
    (9, 4.4, 2.9, 1.4, 0.2, 'setosa'), (10, 4.9, 3.1, 1.5, 0.1, 'setosa'),
    (11, 5.4, 3.7, 1.5, 0.2, 'setosa'), (12, 4.8, 3.4, 1.6, 0.2, 'setosa'),
    (13, 4.8, 3.0, 1.4, 0.1, 'setosa'), (14, 4.3, 3.0, 1.1, 0.1, 'setosa'),
    (15, 5.8, 4.0, 1.2, 0.2, 'setosa'), (16, 5.7, 4.4, 1.5, 0.4, 'setosa'),
    (17, 5.4, 3.9, 1.3, 0.4, 'setosa'), (18, 5.1, 3.5, 1.4, 0.3, 'setosa'),
    (19, 5.7, 3.8, 1.7, 0.3, 'setosa'), (20, 5.1, 3.8, 1.5, 0.3, 'setosa'),
    (21, 5.4, 3.4, 1.7, 0.2, 'setosa'), (22, 5.1, 3.7, 1.5, 0.4, 'setosa'),
    (23, 4.6, 3.6, 1.0, 0.2, 'setosa'), (24, 5.1, 3.3, 1.7, 0.5, 'setosa'),
    (25, 4.8, 3.4, 1.9, 0.2, 'setosa'), (26, 5.0, 3.0, 1.6, 0.2, 'setosa'),
    (27, 5.0, 3.4, 1.6, 0.4, 'setosa'), (28, 5.2, 3.5, 1.5, 0.2, 'setosa'),
    (29, 5.2, 3.4, 1.4, 0.2, 'setosa'), (30, 4.7, 3.2, 1.6, 0.2, 'setosa'),
    (31, 4.8, 3.1, 1.6, 0.2, 'setosa'), (32, 5.4, 3.4, 1.5, 0.4, 'setosa'),
    (33, 5.2, 4.1, 1.5, 0.1, 'setosa'), (34, 5.5, 4.2, 1.4, 0.2, 'setosa'),
    (35, 4.9, 3.1, 1.5, 0.2, 'setosa'), (36, 5.0, 3.2, 1.2, 0.2, 'setosa'),
    (37, 5.5, 3.5, 1.3, 0.2, 'setosa'), (38, 4.9, 3.6, 1.4, 0.1, 'setosa'),
    (39, 4.4, 3.0, 1.3, 0.2, 'setosa'), (40, 5.1, 3.4, 1.5, 0.2, 'setosa'),
    (41, 5.0, 3.5, 1.3, 0.3, 'setosa'), (42, 4.5, 2.3, 1.3, 0.3, 'setosa'),
    (43, 4.4, 3.2, 1.3, 0.2, 'setosa'), (44, 5.0, 3.5, 1.6, 0.6, 'setosa'),
    (45, 5.1, 3.8, 1.9, 0.4, 'setosa'), (46, 4.8, 3.0, 1.4, 0.3, 'setosa'),
    (47, 5.1, 3.8, 1.6, 0.2, 'setosa'), (48, 4.6, 3.2, 1.4, 0.2, 'setosa'),
    (49, 5.3, 3.7, 1.5, 0.2, 'setosa'), (50, 5.0, 3.3, 1.4, 0.2, 'setosa'),
    (51, 7.0, 3.2, 4.7, 1.4, 'versicolor'), (52, 6.4, 3.2, 4.5, 1.5, 'versicolor'),
    (53, 6.9, 3.1, 4.9, 1.5, 'versicolor'), (54, 5.5, 2.3, 4.0, 1.3, 'versicolor'),
    (55, 6.5, 2.8, 4.6, 1.5, 'versicolor'), (56, 5.7, 2.8, 4.5, 1.3, 'versicolor'),
    (57, 6.3, 3.3, 4.7, 1.6, 'versicolor'), (58, 4.9, 2.4, 3.3, 1.0, 'versicolor'),
    (59, 6.6, 2.9, 4.6, 1.3, 'versicolor'), (60, 5.2, 2.7, 3.9, 1.4, 'versicolor'),
    (61, 5.0, 2.0, 3.5, 1.0, 'versicolor'), (62, 5.9, 3.0, 4.2, 1.5, 'versicolor'),
    (63, 6.0, 2.2, 4.0, 1.0, 'versicolor'), (64, 6.1, 2.9, 4.7, 1.4, 'versicolor'),
    (65, 5.6, 2.9, 3.6, 1.3, 'versicolor'), (66, 6.7, 3.1, 4.4, 1.4, 'versicolor'),
    (67, 5.6, 3.0, 4.5, 1.5, 'versicolor'), (68, 5.8, 2.7, 4.1, 1.0, 'versicolor'),
    (69, 6.2, 2.2, 4.5, 1.5, 'versicolor'), (70, 5.6, 2.5, 3.9, 1.1, 'versicolor'),
    (71, 5.9, 3.2, 4.8, 1.8, 'versicolor'), (72, 6.1, 2.8, 4.0, 1.3, 'versicolor'),
    (73, 6.3, 2.5, 4.9, 1.5, 'versicolor'), (74, 6.1, 2.8, 4.7, 1.2, 'versicolor'),
    (75, 6.4, 2.9, 4.3, 1.3, 'versicolor'), (76, 6.6, 3.0, 4.4, 1.4, 'versicolor'),
    (77, 6.8, 2.8, 4.8, 1.4, 'versicolor'), (78, 6.7, 3.0, 5.0, 1.7, 'versicolor'),
    (79, 6.0, 2.9, 4.5, 1.5, 'versicolor'), (80, 5.7, 2.6, 3.5, 1.0, 'versicolor'),
    (81, 5.5, 2.4, 3.8, 1.1, 'versicolor'), (82, 5.5, 2.4, 3.7, 1.0, 'versicolor'),
    (83, 5.8, 2.7, 3.9, 1.2, 'versicolor'), (84, 6.0, 2.7, 5.1, 1.6, 'versicolor'),
    (85, 5.4, 3.0, 4.5, 1.5, 'versicolor'), (86, 6.0, 3.4, 4.5, 1.6, 'versicolor'),
    (87, 6.7, 3.1, 4.7, 1.5, 'versicolor'), (88, 6.3, 2.3, 4.4, 1.3, 'versicolor'),
    (89, 5.6, 3.0, 4.1, 1.3, 'versicolor'), (90, 5.5, 2.5, 4.0, 1.3, 'versicolor'),
    (91, 5.5, 2.6, 4.4, 1.2, 'versicolor'), (92, 6.1, 3.0, 4.6, 1.4, 'versicolor'),
    (93, 5.8, 2.6, 4.0, 1.2, 'versicolor'), (94, 5.0, 2.3, 3.3, 1.0, 'versicolor'),
    (95, 5.6, 2.7, 4.2, 1.3, 'versicolor'), (96, 5.7, 3.0, 4.2, 1.2, 'versicolor'),
    (97, 5.7, 2.9, 4.2, 1.3, 'versicolor'), (98, 6.2, 2.9, 4.3, 1.3, 'versicolor'),
    (99, 5.1, 2.5, 3.0, 1.1, 'versicolor'), (100, 5.7, 2.8, 4.1, 1.3, 'versicolor'),
    (101, 6.3, 3.3, 6.0, 2.5, 'virginica'), (102, 5.8, 2.7, 5.1, 1.9, 'virginica'),
    (103, 7.1, 3.0, 5.9, 2.1, 'virginica'), (104, 6.3, 2.9, 5.6, 1.8, 'virginica'),
    (105, 6.5, 3.0, 5.8, 2.2, 'virginica'), (106, 7.6, 3.0, 6.6, 2.1, 'virginica'),
    (107, 4.9, 2.5, 4.5, 1.7, 'virginica'), (108, 7.3, 2.9, 6.3, 1.8, 'virginica'),
    (109, 6.7, 2.5, 5.8, 1.8, 'virginica'), (110, 7.2, 3.6, 6.1, 2.5, 'virginica'),
    (111, 6.5, 3.2, 5.1, 2.0, 'virginica'), (112, 6.4, 2.7, 5.3, 1.9, 'virginica'),
    (113, 6.8, 3.0, 5.5, 2.1, 'virginica'), (114, 5.7, 2.5, 5.0, 2.0, 'virginica'),
    (115, 5.8, 2.8, 5.1, 2.4, 'virginica'), (116, 6.4, 3.2, 5.3, 2.3, 'virginica'),
    (117, 6.5, 3.0, 5.5, 1.8, 'virginica'), (118, 7.7, 3.8, 6.7, 2.2, 'virginica'),
    (119, 7.7, 2.6, 6.9, 2.3, 'virginica'), (120, 6.0, 2.2, 5.0, 1.5, 'virginica'),
    (121, 6.9, 3.2, 5.7, 2.3, 'virginica'), (122, 5.6, 2.8, 4.9, 2.0, 'virginica'),
    (123, 7.7, 2.8, 6.7, 2.0, 'virginica'), (124, 6.3, 2.7, 4.9, 1.8, 'virginica'),
    (125, 6.7, 3.3, 5.7, 2.1, 'virginica'), (126, 7.2, 3.2, 6.0, 1.8, 'virginica'),
    (127, 6.2, 2.8, 4.8, 1.8, 'virginica'), (128, 6.1, 3.0, 4.9, 1.8, 'virginica'),
    (129, 6.4, 2.8, 5.6, 2.1, 'virginica'), (130, 7.2, 3.0, 5.8, 1.6, 'virginica'),
    (131, 7.4, 2.8, 6.1, 1.9, 'virginica'), (132, 7.9, 3.8, 6.4, 2.0, 'virginica'),
    (133, 6.4, 2.8, 5.6, 2.2, 'virginica'), (134, 6.3, 2.8, 5.1, 1.5, 'virginica'),
    (135, 6.1, 2.6, 5.6, 1.4, 'virginica'), (136, 7.7, 3.0, 6.1, 2.3, 'virginica'),
    (137, 6.3, 3.4, 5.6, 2.4, 'virginica'), (138, 6.4, 3.1, 5.5, 1.8, 'virginica'),
    (139, 6.0, 3.0, 4.8, 1.8, 'virginica'), (140, 6.9, 3.1, 5.4, 2.1, 'virginica'),
    (141, 6.7, 3.1, 5.6, 2.4, 'virginica'), (142, 6.9, 3.1, 5.1, 2.3, 'virginica'),
    (143, 5.8, 2.7, 5.1, 1.9, 'virginica'), (144, 6.8, 3.2, 5.9, 2.3, 'virginica'),
    (145, 6.7, 3.3, 5.7, 2.5, 'virginica'), (146, 6.7, 3.0, 5.2, 2.3, 'virginica'),
    (147, 6.3, 2.5, 5.0, 1.9, 'virginica'), (148, 6.5, 3.0, 5.2, 2.0, 'virginica'),
    (149, 6.2, 3.4, 5.4, 2.3, 'virginica'), (150, 5.9, 3.0, 5.1, 1.8, 'virginica');
CREATE TEMP TABLE logit_expected (id int, species text, p float8);
INSERT INTO logit_expected VALUES (10, 'setosa', 0.9576330481372078), (10, 'versicolor', 0.04236659675003977),
    (10, 'virginica', 3.551127524780969e-07), (20, 'setosa', 0.992440430768571),
    (20, 'versicolor', 0.007559476812275437), (20, 'virginica', 9.24191537268749e-08),
    (30, 'setosa', 0.9747674562543521), (30, 'versicolor', 0.02523217080418779),
    (30, 'virginica', 3.729414601227843e-07), (40, 'setosa', 0.9741187540229016),
    (40, 'versicolor', 0.02588098054609172), (40, 'virginica', 2.6543100667487695e-07),
    (50, 'setosa', 0.9727985847882207), (50, 'versicolor', 0.027201147846692364),
    (50, 'virginica', 2.6736508705718066e-07), (60, 'setosa', 0.07060938484585838),
    (60, 'versicolor', 0.8425484638215566), (60, 'virginica', 0.08684215133258513),
    (70, 'setosa', 0.025446977137046866), (70, 'versicolor', 0.9484850938917724),
    (70, 'virginica', 0.02606792897118073), (80, 'setosa', 0.046876228840198035),
    (80, 'versicolor', 0.9444150513732751), (80, 'virginica', 0.008708719786526863),
    (90, 'setosa', 0.021605760841292017), (90, 'versicolor', 0.9055759661467785),
    (90, 'virginica', 0.07281827301192954), (100, 'setosa', 0.036565266169851555),
    (100, 'versicolor', 0.8993529624820563), (100, 'virginica', 0.06408177134809222),
    (110, 'setosa', 1.2340987957890997e-05), (110, 'versicolor', 0.009354977308023534),
    (110, 'virginica', 0.9906326817040186), (120, 'setosa', 0.0005510047024948871),
    (120, 'versicolor', 0.537371763972803), (120, 'virginica', 0.4620772313247021),
    (130, 'setosa', 0.00022589464850095075), (130, 'versicolor', 0.3639326370209256),
    (130, 'virginica', 0.6358414683305735), (140, 'setosa', 0.00011740746780222928),
    (140, 'versicolor', 0.09087489060000296), (140, 'virginica', 0.9090077019321948),
    (150, 'setosa', 0.003795137251381766), (150, 'versicolor', 0.3054557641655665),
    (150, 'virginica', 0.6907490985830518);
CREATE TEMP TABLE nb_expected (id int, species text, p float8);
INSERT INTO nb_expected VALUES (10, 'setosa', 1.0), (10, 'versicolor', 2.115417796188795e-18),
    (10, 'virginica', 1.2749420277478883e-26), (20, 'setosa', 1.0),
    (20, 'versicolor', 7.325348649346268e-18), (20, 'virginica', 8.375674117504233e-26),
    (30, 'setosa', 1.0), (30, 'versicolor', 2.885022785273785e-17),
    (30, 'virginica', 1.748969584927816e-25), (40, 'setosa', 1.0),
    (40, 'versicolor', 6.804196830580868e-18), (40, 'virginica', 5.594315422712809e-26),
    (50, 'setosa', 1.0), (50, 'versicolor', 2.3633866083522845e-18),
    (50, 'virginica', 1.6323695108869955e-26), (60, 'setosa', 1.701100126920315e-65),
    (60, 'versicolor', 0.999909829485441), (60, 'virginica', 9.01705145589052e-05),
    (70, 'setosa', 5.478018975321479e-55), (70, 'versicolor', 0.9999959153642184),
    (70, 'virginica', 4.0846357816651e-06), (80, 'setosa', 3.7340520299052446e-39),
    (80, 'versicolor', 0.9999992593085042), (80, 'virginica', 7.406914956705031e-07),
    (90, 'setosa', 1.0217194421310786e-65), (90, 'versicolor', 0.9999661693171128),
    (90, 'virginica', 3.383068288720838e-05), (100, 'setosa', 2.9321843002560267e-69),
    (100, 'versicolor', 0.9998830360113776), (100, 'virginica', 0.00011696398862256509),
    (110, 'setosa', 2.993487699225908e-247), (110, 'versicolor', 8.246542253668517e-12),
    (110, 'virginica', 0.9999999999917533), (120, 'setosa', 9.32338893015537e-117),
    (120, 'versicolor', 0.9800927180732584), (120, 'virginica', 0.019907281926741485),
    (130, 'setosa', 9.782000768282392e-169), (130, 'versicolor', 0.001644160453339226),
    (130, 'virginica', 0.998355839546661), (140, 'setosa', 1.5393685753755761e-175),
    (140, 'versicolor', 1.06750732516696e-05), (140, 'virginica', 0.9999893249267484),
    (150, 'setosa', 6.813105522523996e-136), (150, 'versicolor', 0.0757345567228176),
    (150, 'virginica', 0.9242654432771823);
ALTER TABLE iris ADD COLUMN id_test boolean;
UPDATE iris SET id_test = id % 10 = 0;
SELECT ml_create_project('iris', 'iris', 'species', 'classification') > 0 AS created;
SELECT version, algorithm, metrics->>'accuracy' AS accuracy
FROM ml_train('iris', 'logistic', '{"tol": 1e-10, "max_iter": 10000}',
              '{"holdout_column": "id_test", "exclude": ["id"]}');
SELECT count(*) AS probabilities, max(abs(e.v::float8 - x.p)) < 1e-5 AS same_as_sklearn
FROM iris i, mlops.models m JOIN mlops.projects p ON p.id = m.project_id,
     jsonb_each_text(mlops.score_proba('iris', m.id, i)) e(k, v), logit_expected x
WHERE p.name = 'iris' AND m.version = 1 AND x.id = i.id AND x.species = e.k;

-- Naive Bayes on iris: GaussianNB's probabilities, to 1e-9.
SELECT version, algorithm, metrics->>'accuracy' AS accuracy
FROM ml_train('iris', 'naive_bayes', '{}', '{"holdout_column": "id_test", "exclude": ["id"]}');
SELECT count(*) AS probabilities, max(abs(e.v::float8 - x.p)) < 1e-9 AS same_as_sklearn
FROM iris i, mlops.models m JOIN mlops.projects p ON p.id = m.project_id,
     jsonb_each_text(mlops.score_proba('iris', m.id, i)) e(k, v), nb_expected x
WHERE p.name = 'iris' AND m.version = 2 AND x.id = i.id AND x.species = e.k;
-- with a categorical feature and NULL cells (skipped, not imputed)
CREATE TABLE nb_mixed AS
SELECT i AS id, CASE WHEN i % 9 = 0 THEN NULL ELSE (ARRAY['red', 'green', 'blue'])[i % 3 + 1] END AS colour,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 3) * 2 + sin(i) END AS size,
       CASE WHEN i % 3 = 0 THEN 'a' WHEN i % 3 = 1 THEN 'b' ELSE 'c' END AS label,
       i % 5 = 0 AS test
FROM generate_series(1, 90) i;
SELECT ml_create_project('nb_mixed', 'nb_mixed', 'label', 'classification') > 0 AS created;
SELECT version, algorithm, metrics->>'accuracy' AS accuracy
FROM ml_train('nb_mixed', 'naive_bayes', '{"alpha": 0.5}', '{"holdout_column": "test", "exclude": ["id"]}');
SELECT features, hyperparameters FROM ml_models WHERE project = 'nb_mixed';
SELECT bool_and(v::float8 BETWEEN 0 AND 1) AS finite, count(*) AS probabilities
FROM nb_mixed s, mlops.models m JOIN mlops.projects p ON p.id = m.project_id,
     jsonb_each_text(mlops.score_proba('nb_mixed', m.id, s)) e(k, v)
WHERE p.name = 'nb_mixed';

-- k-means recovers three well-separated blobs.
CREATE TABLE blobs AS
SELECT i AS id, (ARRAY[0, 20, -20])[i % 3 + 1] + sin(i * 1.7) AS a,
       (ARRAY[0, 20, 20])[i % 3 + 1] + cos(i * 2.3) AS b, i % 3 AS blob, i % 10 = 0 AS test
FROM generate_series(1, 90) i;
SELECT ml_create_project('blobs', 'blobs', 'blob', 'regression') > 0 AS created;
SELECT version, algorithm, metrics FROM ml_train('blobs', 'kmeans', '{"n_clusters": 3, "n_init": 2}',
    '{"holdout_column": "test", "exclude": ["id"]}');
SELECT hyperparameters FROM ml_models WHERE project = 'blobs';
WITH c AS (
    SELECT bl.blob, mlops.score_value('blobs', m.id, bl) AS cluster
    FROM blobs bl, mlops.models m JOIN mlops.projects p ON p.id = m.project_id WHERE p.name = 'blobs' AND m.version = 1
)
SELECT (SELECT count(DISTINCT cluster) FROM c) AS clusters,
       (SELECT max(n) FROM (SELECT count(DISTINCT cluster) AS n FROM c GROUP BY blob) s) AS clusters_per_blob;
-- the same seed, the same clusters
SELECT version FROM ml_train('blobs', 'kmeans', '{"n_clusters": 3, "n_init": 2}',
    '{"holdout_column": "test", "exclude": ["id"]}');
SELECT count(*) AS rows_same FROM blobs bl, mlops.models m1, mlops.models m2
WHERE m1.project_id = (SELECT id FROM mlops.projects WHERE name = 'blobs') AND m1.version = 1
  AND m2.project_id = m1.project_id AND m2.version = 2
  AND mlops.score_value('blobs', m1.id, bl) = mlops.score_value('blobs', m2.id, bl);

-- Bad hyperparameters: 22023, the valid keys in the hint; nothing stored.
SELECT regress_catalog_digest() AS before \gset
SELECT regress_try($$SELECT ml_train('lr_noisy', 'lasso', '{"alpah": 1}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('lr_noisy', 'elastic_net', '{"l1_ratio": 2}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('lr_noisy', 'elastic_net', '{"max_iter": 0.5}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('lr_noisy', 'ridge', '{"l1_ratio": 0.5}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('iris', 'logistic', '{"C": 0}', '{"holdout_column": "id_test"}')$$);
SELECT regress_try($$SELECT ml_train('iris', 'logistic', '{"penalty": "l1"}', '{"holdout_column": "id_test"}')$$);
SELECT regress_try($$SELECT ml_train('iris', 'naive_bayes', '{"var_smoothing": -1}', '{"holdout_column": "id_test"}')$$);
SELECT regress_try($$SELECT ml_train('iris', 'naive_bayes', '{"priors": [1, 2]}', '{"holdout_column": "id_test"}')$$);
SELECT regress_try($$SELECT ml_train('blobs', 'kmeans', '{"k": 3}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('blobs', 'kmeans', '{"n_clusters": 0}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('blobs', 'kmeans', '{"n_clusters": 500}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('lr_noisy', 'logistic', '{}', '{"holdout_column": "test"}')$$);
SELECT regress_try($$SELECT ml_train('iris', 'lasso', '{}', '{"holdout_column": "id_test"}')$$);
SELECT regress_catalog_digest() = :'before' AS nothing_changed;

-- A corrupted payload is XX001, never a crash: the last number made NaN,
-- and the payload cut short, for each learner. (A new session after each
-- edit: a hand-made UPDATE of the catalog does not reach scoring caches.)
CREATE TABLE corrupt AS
SELECT p.name, m.id, m.version, m.algorithm, m.payload FROM mlops.models m
JOIN mlops.projects p ON p.id = m.project_id
WHERE (p.name, m.version) IN (('lr_noisy', 2), ('iris', 1), ('iris', 2), ('blobs', 1));
UPDATE mlops.models m SET payload = overlay(c.payload placing '\x7ff8000000000000'::bytea
                                            from length(c.payload) - 7)
FROM corrupt c WHERE m.id = c.id;
\c
SELECT c.algorithm, regress_try(format($$SELECT mlops.score_%s(%L, %s, r) FROM %I r LIMIT 1$$,
    CASE WHEN c.name = 'iris' THEN 'proba' ELSE 'value' END, c.name, c.id, c.name)) AS nan
FROM corrupt c ORDER BY c.algorithm;
UPDATE mlops.models m SET payload = substr(c.payload, 1, length(c.payload) - 1)
FROM corrupt c WHERE m.id = c.id;
\c
SELECT c.algorithm, regress_try(format($$SELECT mlops.score_%s(%L, %s, r) FROM %I r LIMIT 1$$,
    CASE WHEN c.name = 'iris' THEN 'proba' ELSE 'value' END, c.name, c.id, c.name)) AS truncated
FROM corrupt c ORDER BY c.algorithm;
UPDATE mlops.models m SET payload = c.payload FROM corrupt c WHERE m.id = c.id;
DROP TABLE corrupt;

SELECT count(ml_drop_project(name, true)) AS dropped FROM unnest(ARRAY['lr_exact', 'lr_noisy', 'sep', 'iris', 'nb_mixed', 'blobs']) name;
DROP TABLE lr_exact, lr_noisy, sep, iris, nb_mixed, blobs;
