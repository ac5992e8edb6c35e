#!/usr/bin/env python3
"""How long a patient page waits while a long import runs on the same SQLite file.

Starts `quittance demo` on a scratch SQLite file, logs in as `technicien`, measures the
patient page for a few seconds (the baseline of the run), then starts
`quittance import patients` of N generated rows on the same file and keeps measuring
the page (one client, back to back) until the import ends. Prints the figures of both
phases. Usage (release build first):

    scripts/import-wait.py [--bin target/release/quittance] [--rows 150000] [--batch-size 1000]

Standard library only. The scratch folder is removed at the end.
"""
import argparse, http.client, os, re, shutil, statistics, subprocess, sys, tempfile, time

p = argparse.ArgumentParser()
p.add_argument("--bin", default="target/release/quittance")
p.add_argument("--rows", type=int, default=150_000)
p.add_argument("--batch-size", type=int, default=1000)
p.add_argument("--port", type=int, default=8099)
p.add_argument("--baseline-seconds", type=float, default=5.0)
a = p.parse_args()

work = tempfile.mkdtemp(prefix="quittance-import-wait-")
db = os.path.join(work, "q.db")
csv = os.path.join(work, "patients.csv")
names = ["MARTIN", "BERNARD", "WAMYTAN", "NAISSELINE", "TUIHALAMAKA", "NGUYEN", "DUBOIS", "GOROMIDO", "LE BRIS", "D'ARCY"]
firsts = ["Marie", "Jean", "Yolande", "Kalolo", "Hinano", "Thi", "Louis", "Wanakam", "Paul", "Anne"]
with open(csv, "w", encoding="utf-8") as f:
    f.write("birth_name;birth_first_names;birth_date;sex;identity_status;birth_place_code;birth_place_label;city\n")
    for i in range(a.rows):
        n, fn = names[i % 10], firsts[(i // 10) % 10]
        d = f"{1 + i % 28:02d}/{1 + (i // 28) % 12:02d}/{1930 + (i // 336) % 90}"
        suffix = "".join(chr(65 + (i // 10 // 26 ** k) % 26) for k in range(3))
        f.write(f"{n}-{suffix};{fn};{d};{'F' if i % 2 else 'M'};provisoire;98818;Nouméa;Nouméa\n")

server = subprocess.Popen([a.bin, "demo", "--database", db, "--bind", f"127.0.0.1:{a.port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
def conn():
    return http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
try:
    for _ in range(120):
        try:
            c = conn(); c.request("GET", "/healthz"); c.getresponse().read(); break
        except OSError:
            time.sleep(0.5)
    c = conn()
    c.request("GET", "/login"); r = c.getresponse(); body = r.read().decode()
    cookie = "; ".join(h.split(";")[0] for k, h in r.getheaders() if k.lower() == "set-cookie")
    csrf = re.search(r'name="_csrf" value="([^"]+)"', body).group(1)
    c.request("POST", "/login", f"_csrf={csrf}&username=technicien&password=formation-2026",
              {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
    r = c.getresponse(); r.read()
    cookie = "; ".join([cookie] + [h.split(";")[0] for k, h in r.getheaders() if k.lower() == "set-cookie"])

    def page():
        t = time.perf_counter()
        c.request("GET", "/patients/1", headers={"Cookie": cookie})
        r = c.getresponse(); r.read()
        if r.status != 200:
            raise SystemExit(f"page: HTTP {r.status}")
        return (time.perf_counter() - t) * 1000

    def report(label, v):
        v = sorted(v)
        p99 = v[min(len(v) - 1, int(len(v) * 0.99))]
        print(f"{label:<28} {len(v):>7} {statistics.mean(v):>9.1f} {v[len(v) // 2]:>9.1f} {p99:>9.1f} {v[-1]:>9.1f}")

    base, end = [], time.time() + a.baseline_seconds
    while time.time() < end:
        base.append(page())
    t0 = time.time()
    imp = subprocess.Popen([a.bin, "import", "patients", csv, "--establishment", "HSM", "--database", db,
                            "--batch-size", str(a.batch_size)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    during = []
    while imp.poll() is None:
        during.append(page())
    took = time.time() - t0
    err = imp.stderr.read().decode()
    print(f"Import de {a.rows} dossiers par lots de {a.batch_size} : {took:.1f} s (code {imp.returncode}).")
    print(f"{'page dossier':<28} {'vues':>7} {'moy. ms':>9} {'p50 ms':>9} {'p99 ms':>9} {'max ms':>9}")
    report("sans import (référence)", base)
    report("pendant l'import", during)
    if imp.returncode != 0 or not during:
        sys.exit(f"l'import a échoué ou n'a rien mesuré : {err[-800:]}")
finally:
    server.terminate(); server.wait()
    shutil.rmtree(work, ignore_errors=True)
