-- Helpers of test/upgrade_models.sh: what a model version answers, one line
-- "kind|project|version|value" each, so the answers before and after the
-- upgrade compare line by line. Created by the superuser in public, run as
-- the engineer. An error is recorded by its SQLSTATE only (messages may be
-- reworded by a release, the failure itself may not change).
CREATE FUNCTION um_try(cmd text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE r text;
BEGIN
  EXECUTE cmd INTO r;
  RETURN coalesce(r, 'null');
EXCEPTION WHEN OTHERS THEN
  RETURN 'ERROR ' || SQLSTATE;
END $f$;

-- The deployed version of a project: its predictions for the probe rows
-- (row and jsonb forms), its ml_score of the project's relation, its forecast.
CREATE FUNCTION um_deployed(p text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
  v integer; task text; rel text;
  head text;
BEGIN
  SELECT deployed_version, pr.task, relation INTO v, task, rel FROM ml_projects pr WHERE name = p;
  head := p || '|' || coalesce(v::text, 'none') || '|';
  RETURN NEXT 'deployed|' || head;
  IF v IS NULL THEN RETURN; END IF;
  IF task = 'forecast' THEN
    RETURN NEXT 'forecast|' || head || um_try(format(
      $$SELECT string_agg(concat_ws(';', series, ts, forecast, lower, upper), '|' ORDER BY series::text, ts)
        FROM ml_forecast(%L, 14)$$, p));
    RETURN;
  END IF;
  RETURN NEXT 'predict|' || head || um_try(format(
    $$SELECT string_agg(coalesce(ml_predict(%L, t)::text, 'null'), ' ' ORDER BY t.id) FROM um_probe t$$, p));
  RETURN NEXT 'predict_json|' || head || um_try(format(
    $$SELECT string_agg(coalesce(ml_predict(%L, to_jsonb(t))::text, 'null'), ' ' ORDER BY t.id) FROM um_probe t$$, p));
  IF task = 'classification' THEN
    RETURN NEXT 'label|' || head || um_try(format(
      $$SELECT string_agg(ml_predict_label(%L, t), ' ' ORDER BY t.id) FROM um_probe t$$, p));
    RETURN NEXT 'proba|' || head || um_try(format(
      $$SELECT string_agg(ml_predict_proba(%L, t)::text, ' ' ORDER BY t.id) FROM um_probe t$$, p));
    RETURN NEXT 'proba_json|' || head || um_try(format(
      $$SELECT string_agg(ml_predict_proba(%L, to_jsonb(t))::text, ' ' ORDER BY t.id) FROM um_probe t$$, p));
  END IF;
  RETURN NEXT 'score|' || head || um_try(format('SELECT ml_score(%L, %L, %L)', p, rel, 'um_scored'))
    || ' ' || um_try($$SELECT md5(string_agg(s::text, '|' ORDER BY id)) FROM um_scored s$$);
  DROP TABLE IF EXISTS um_scored;
END $f$;

-- What needs no deployment: ml_evaluate on the project's relation, the PMML
-- document (its Application version apart, kept as a line of its own), a
-- forecast project's forecast by version.
CREATE FUNCTION um_version(p text, v integer) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
  task text; rel text; algo text; doc text;
  head text := p || '|' || v || '|';
BEGIN
  SELECT pr.task, relation INTO task, rel FROM ml_projects pr WHERE name = p;
  SELECT algorithm INTO algo FROM ml_models WHERE project = p AND version = v;
  RETURN NEXT 'algorithm|' || head || algo;
  IF task = 'forecast' THEN
    RETURN NEXT 'forecast_version|' || head || um_try(format(
      $$SELECT string_agg(concat_ws(';', series, ts, forecast, lower, upper), '|' ORDER BY series::text, ts)
        FROM ml_forecast(%L, 14, %s)$$, p, v));
    RETURN;
  END IF;
  IF algo <> 'kmeans' THEN
    RETURN NEXT 'evaluate|' || head || um_try(format('SELECT ml_evaluate(%L, %s, %L)', p, v, rel));
  END IF;
  doc := um_try(format('SELECT ml_export_pmml(%L, %s)', p, v));
  RETURN NEXT 'pmml|' || head || CASE WHEN doc LIKE 'ERROR %' THEN doc ELSE md5(regexp_replace(doc,
    '(<Application name="pg_mlops" version=")[^"]*(")', '\1*\2')) END;
  IF doc NOT LIKE 'ERROR %' THEN
    RETURN NEXT 'pmml_app|' || head || substring(doc from '<Application name="pg_mlops" version="([^"]*)"');
  END IF;
END $f$;
GRANT EXECUTE ON FUNCTION um_try(text), um_deployed(text), um_version(text, integer) TO ml_engineer;
