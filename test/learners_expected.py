"""Expected values pasted into sql/learners.sql, computed once with scikit-learn
(Debian python3-sklearn): /usr/bin/python3 test/learners_expected.py prints them.
The features are standardized as ml_train does (training rows, sample std)."""
import numpy as np, warnings, math
warnings.filterwarnings("ignore")
from sklearn.linear_model import Lasso, ElasticNet, LogisticRegression
from sklearn.naive_bayes import GaussianNB
iris = np.loadtxt("/usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv", delimiter=",", skiprows=1)
names = ["setosa", "versicolor", "virginica"]
out = []
def std_fit(X):
    return X.mean(0), X.std(0, ddof=1)
# noisy regression table, same formula as in SQL
ids = np.arange(1, 201)
x1 = np.sin(ids); x2 = np.cos(ids * 0.3) * 4; x3 = (ids % 11) / 3.0; x4 = np.sqrt(ids)
y = 1.0 + 2 * x1 - 1.5 * x2 + 0.3 * x3 + 0.0 * x4 + np.sin(ids * 7.7) * 0.8
test = ids % 5 == 0
X = np.column_stack([x1, x2, x3, x4])
m, s = std_fit(X[~test]); Z = (X - m) / s
res = {}
for name, est in (("lasso", Lasso(alpha=0.1, tol=1e-12, max_iter=1000000)),
                  ("elastic_net", ElasticNet(alpha=0.2, l1_ratio=0.3, tol=1e-12, max_iter=1000000))):
    est.fit(Z[~test], y[~test])
    res[name] = est.predict(Z[test])
    print("--", name, est.coef_)
print("LASSO_EXPECTED", ", ".join(f"({i}, {v!r})" for i, v in zip(ids[test], res["lasso"])))
print("ENET_EXPECTED", ", ".join(f"({i}, {v!r})" for i, v in zip(ids[test], res["elastic_net"])))
# iris
iid = np.arange(1, 151); itest = iid % 10 == 0
Xi = iris[:, :4]; yi = iris[:, 4].astype(int)
m, s = std_fit(Xi[~itest]); Zi = (Xi - m) / s
lr = LogisticRegression(solver="newton-cg", tol=1e-14, max_iter=100000).fit(Zi[~itest], yi[~itest])
P = lr.predict_proba(Zi[itest])
print("LOGIT_EXPECTED", ", ".join(f"({i}, '{names[c]}', {P[k, c]!r})" for k, i in enumerate(iid[itest]) for c in range(3)))
nb = GaussianNB().fit(Xi[~itest], yi[~itest]); P = nb.predict_proba(Xi[itest])
print("NB_EXPECTED", ", ".join(f"({i}, '{names[c]}', {P[k, c]!r})" for k, i in enumerate(iid[itest]) for c in range(3)))
print("IRIS_ROWS", ", ".join(f"({i}, {r[0]}, {r[1]}, {r[2]}, {r[3]}, '{names[int(r[4])]}')" for i, r in zip(iid, iris)))
