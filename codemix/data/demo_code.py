"""Coding tasks of the demo corpus: per language, parameterised (task, code) generators.

Each generator takes a ``random.Random`` and returns a task phrase ("filter numbers above 42")
and a snippet that does it, with names, numbers, files, tables and columns drawn at random so
that the same task rarely produces the same conversation twice.
"""

from __future__ import annotations

import random

LANGUAGES = ("python", "javascript", "sql", "shell", "java", "cpp")
PRETTY = {"python": "Python", "javascript": "JavaScript", "sql": "SQL", "shell": "Bash", "java": "Java",
          "cpp": "C++"}
FENCE = {"python": "python", "javascript": "javascript", "sql": "sql", "shell": "bash", "java": "java",
         "cpp": "cpp"}

_FILES = ["data", "notes", "report", "log", "input", "records", "sales", "events", "users", "results"]
_COLUMNS = ["price", "score", "age", "amount", "duration", "rating", "weight", "quantity", "salary", "distance"]
_TABLES = [("customers", "orders", "customer_id"), ("users", "posts", "user_id"), ("authors", "books", "author_id"),
           ("students", "grades", "student_id"), ("stores", "sales", "store_id"), ("teams", "players", "team_id"),
           ("patients", "visits", "patient_id"), ("vendors", "invoices", "vendor_id")]
_ENTITIES = [("Book", "title", "pages"), ("Car", "model", "year"), ("Employee", "name", "salary"),
             ("Product", "name", "price"), ("Student", "name", "grade"), ("Movie", "title", "rating"),
             ("Account", "owner", "balance"), ("Sensor", "label", "reading"), ("Recipe", "name", "servings")]
_WORDS = ["apple", "river", "planet", "garden", "window", "rocket", "puzzle", "violet", "harbor", "candle"]
_DIRS = ["src", "logs", "photos", "backups", "docs", "downloads", "projects", "build", "assets", "tmp"]
_EXTS = ["py", "js", "txt", "md", "csv", "log", "json", "java", "cpp", "html"]


def _pick(rng: random.Random, seq):
    return seq[rng.randrange(len(seq))]


def _numbers(rng: random.Random, k: int = 5, lo: int = 1, hi: int = 99) -> list[int]:
    return [rng.randint(lo, hi) for _ in range(k)]


# ----------------------------------------------------------------------------- python


def _py_filter(rng):
    n, name, nums = rng.randint(2, 90), _pick(rng, ["keep_large", "filter_above", "above", "select_big"]), _numbers(rng)
    return (f"keep only the numbers greater than {n} in a list",
            f"def {name}(values, limit={n}):\n    return [v for v in values if v > limit]\n\n\nprint({name}({nums}))")


def _py_wordcount(rng):
    f, k = _pick(rng, _FILES), rng.randint(3, 20)
    return (f"print the {k} most common words in {f}.txt",
            f"from collections import Counter\n\nwith open('{f}.txt') as f:\n    counts = Counter(f.read().lower().split())\n"
            f"for word, n in counts.most_common({k}):\n    print(word, n)")


def _py_fib(rng):
    n, name = rng.randint(5, 40), _pick(rng, ["fibonacci", "fib", "fib_list", "first_fibs"])
    return (f"generate the first {n} Fibonacci numbers",
            f"def {name}(n):\n    seq = [0, 1]\n    while len(seq) < n:\n        seq.append(seq[-1] + seq[-2])\n"
            f"    return seq[:n]\n\n\nprint({name}({n}))")


def _py_csv(rng):
    f, col = _pick(rng, _FILES), _pick(rng, _COLUMNS)
    return (f"average the {col} column of {f}.csv",
            f"import csv\n\nwith open('{f}.csv', newline='') as f:\n    rows = list(csv.DictReader(f))\n"
            f"values = [float(r['{col}']) for r in rows if r['{col}']]\nprint(sum(values) / len(values))")


def _py_prime(rng):
    n = rng.randint(10, 9999)
    return (f"check whether {n} is a prime number",
            "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n"
            f"        if n % i == 0:\n            return False\n        i += 1\n    return True\n\n\nprint(is_prime({n}))")


def _py_dataclass(rng):
    cls, a, b = _pick(rng, _ENTITIES)
    return (f"define a {cls} class with {a} and {b} fields",
            f"from dataclasses import dataclass\n\n\n@dataclass\nclass {cls}:\n    {a}: str\n    {b}: float = 0\n\n\n"
            f"item = {cls}('{_pick(rng, _WORDS)}', {rng.randint(1, 500)})\nprint(item)")


def _py_sort(rng):
    key = _pick(rng, _COLUMNS)
    order = _pick(rng, ["ascending", "descending"])
    return (f"sort a list of dictionaries by their '{key}' key in {order} order",
            f"rows = [{{'{key}': {rng.randint(1, 99)}}}, {{'{key}': {rng.randint(1, 99)}}}, {{'{key}': {rng.randint(1, 99)}}}]\n"
            f"rows.sort(key=lambda r: r['{key}'], reverse={order == 'descending'})\nprint(rows)")


def _py_retry(rng):
    n, s = rng.randint(2, 9), rng.choice([0.5, 1, 2, 3, 5])
    return (f"retry a failing function up to {n} times with a {s} second pause",
            f"import time\n\n\ndef retry(fn, attempts={n}, pause={s}):\n    for i in range(attempts):\n        try:\n"
            f"            return fn()\n        except Exception:\n            if i == attempts - 1:\n                raise\n"
            f"            time.sleep(pause)")


def _py_chunks(rng):
    n = rng.randint(2, 12)
    return (f"split a list into chunks of {n} items",
            f"def chunks(items, size={n}):\n    return [items[i:i + size] for i in range(0, len(items), size)]\n\n\n"
            f"print(chunks(list(range({rng.randint(n + 1, 60)}))))")


def _py_json(rng):
    f, key = _pick(rng, _FILES), _pick(rng, _COLUMNS)
    return (f"load {f}.json and print every '{key}' value",
            f"import json\n\nwith open('{f}.json') as f:\n    data = json.load(f)\nfor item in data:\n    print(item.get('{key}'))")


# ----------------------------------------------------------------------------- javascript


def _js_debounce(rng):
    ms = rng.choice([100, 150, 200, 250, 300, 400, 500, 750, 1000])
    return (f"debounce a function so it runs at most once every {ms} ms",
            f"function debounce(fn, ms = {ms}) {{\n  let timer;\n  return (...args) => {{\n    clearTimeout(timer);\n"
            f"    timer = setTimeout(() => fn(...args), ms);\n  }};\n}}")


def _js_fetch(rng):
    res, field = _pick(rng, _FILES), _pick(rng, _COLUMNS)
    return (f"fetch JSON from /api/{res} and log each item's {field}",
            f"async function load{res.capitalize()}() {{\n  const res = await fetch('/api/{res}');\n"
            f"  if (!res.ok) throw new Error(`HTTP ${{res.status}}`);\n  const items = await res.json();\n"
            f"  items.forEach((item) => console.log(item.{field}));\n}}")


def _js_sum_above(rng):
    n, nums = rng.randint(2, 80), _numbers(rng, 6)
    return (f"add up the numbers in an array that are larger than {n}",
            f"const nums = {nums};\nconst total = nums.filter((x) => x > {n}).reduce((a, b) => a + b, 0);\n"
            f"console.log(total);")


def _js_group(rng):
    key = _pick(rng, ["category", "city", "team", "status", "owner", "type"])
    return (f"group an array of objects by their {key} property",
            f"function groupBy{key.capitalize()}(items) {{\n  return items.reduce((acc, item) => {{\n"
            f"    (acc[item.{key}] ||= []).push(item);\n    return acc;\n  }}, {{}});\n}}")


def _js_countdown(rng):
    n = rng.randint(3, 60)
    return (f"show a countdown from {n} seconds in the console",
            f"let left = {n};\nconst id = setInterval(() => {{\n  console.log(left);\n  left -= 1;\n"
            f"  if (left < 0) clearInterval(id);\n}}, 1000);")


def _js_toggle(rng):
    button, cls = _pick(rng, ["menu", "toggle", "theme", "save", "open"]), _pick(rng, ["active", "dark", "hidden", "open"])
    return (f"toggle the '{cls}' class when the #{button} button is clicked",
            f"const button = document.getElementById('{button}');\nbutton.addEventListener('click', () => {{\n"
            f"  document.body.classList.toggle('{cls}');\n}});")


def _js_unique(rng):
    nums = _numbers(rng, 7, 1, 9)
    return (f"remove the duplicates from an array like {nums}",
            f"const values = {nums};\nconst unique = [...new Set(values)];\nconsole.log(unique);")


def _js_capitalize(rng):
    text = f"the {_pick(rng, _WORDS)} and the {_pick(rng, _WORDS)}"
    return (f"capitalize every word of a string such as '{text}'",
            f"const titleCase = (s) => s.replace(/\\b\\w/g, (c) => c.toUpperCase());\n"
            f"console.log(titleCase('{text}'));")


# ----------------------------------------------------------------------------- sql


def _sql_top(rng):
    parent, child, fk = _pick(rng, _TABLES)
    col, n = _pick(rng, ["amount", "total", "price", "quantity"]), rng.randint(3, 25)
    return (f"find the top {n} {parent} by total {col} in the {child} table",
            f"SELECT {fk}, SUM({col}) AS total_{col}\nFROM {child}\nGROUP BY {fk}\nORDER BY total_{col} DESC\nLIMIT {n};")


def _sql_join(rng):
    parent, child, fk = _pick(rng, _TABLES)
    date = f"20{rng.randint(18, 24)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return (f"join {parent} with {child} and keep rows created after {date}",
            f"SELECT p.id, p.name, c.id AS {child[:-1]}_id\nFROM {parent} p\nJOIN {child} c ON c.{fk} = p.id\n"
            f"WHERE c.created_at > '{date}';")


def _sql_having(rng):
    parent, child, fk = _pick(rng, _TABLES)
    n = rng.randint(2, 50)
    return (f"list the {parent} with more than {n} rows in {child}",
            f"SELECT {fk}, COUNT(*) AS n\nFROM {child}\nGROUP BY {fk}\nHAVING COUNT(*) > {n};")


def _sql_create(rng):
    cls, a, b = _pick(rng, _ENTITIES)
    table = cls.lower() + "s"
    return (f"create a {table} table with an id, {a} and {b}",
            f"CREATE TABLE {table} (\n  id INTEGER PRIMARY KEY,\n  {a} VARCHAR({rng.choice([50, 100, 200, 255])}) NOT NULL,\n"
            f"  {b} NUMERIC DEFAULT 0\n);")


def _sql_update(rng):
    cls, _, b = _pick(rng, _ENTITIES)
    table, n, v = cls.lower() + "s", rng.randint(1, 9999), rng.randint(1, 999)
    return (f"set the {b} of the row with id {n} in {table} to {v}",
            f"UPDATE {table}\nSET {b} = {v}\nWHERE id = {n};")


def _sql_delete(rng):
    table, days = _pick(rng, ["sessions", "logs", "events", "tokens", "carts", "notifications"]), rng.randint(7, 365)
    return (f"delete rows older than {days} days from {table}",
            f"DELETE FROM {table}\nWHERE created_at < CURRENT_DATE - INTERVAL '{days} days';")


def _sql_duplicates(rng):
    table, col = _pick(rng, ["users", "contacts", "customers", "members"]), _pick(rng, ["email", "phone", "username"])
    return (f"find duplicate {col} values in the {table} table",
            f"SELECT {col}, COUNT(*) AS copies\nFROM {table}\nGROUP BY {col}\nHAVING COUNT(*) > 1\nORDER BY copies DESC;")


def _sql_monthly(rng):
    child = _pick(rng, _TABLES)[1]
    col = _pick(rng, ["amount", "price", "quantity", "duration"])
    return (f"compute the average {col} per month in {child}",
            f"SELECT DATE_TRUNC('month', created_at) AS month, AVG({col}) AS avg_{col}\nFROM {child}\n"
            f"GROUP BY month\nORDER BY month;")


# ----------------------------------------------------------------------------- shell


def _sh_large(rng):
    n, d = rng.choice([10, 50, 100, 200, 500, 1000]), _pick(rng, _DIRS)
    return (f"find files larger than {n} MB under {d}/", f"find {d}/ -type f -size +{n}M -exec ls -lh {{}} \\;")


def _sh_lines(rng):
    ext = _pick(rng, _EXTS)
    return (f"count the lines in all .{ext} files", f"find . -name '*.{ext}' -print0 | xargs -0 wc -l | sort -n | tail -{rng.randint(1, 10)}")


def _sh_rename(rng):
    a, b = rng.sample(_EXTS, 2)
    return (f"rename every .{a} file in the current folder to .{b}",
            f"for f in *.{a}; do\n  mv -- \"$f\" \"${{f%.{a}}}.{b}\"\ndone")


def _sh_backup(rng):
    d = _pick(rng, _DIRS)
    return (f"back up the {d} folder into a dated tar.gz archive",
            f"#!/bin/bash\nset -euo pipefail\nstamp=$(date +%Y-%m-%d)\ntar -czf \"{d}-$stamp.tar.gz\" {d}/\necho \"saved {d}-$stamp.tar.gz\"")


def _sh_top(rng):
    n = rng.randint(3, 20)
    return (f"show the {n} processes using the most memory", f"ps aux --sort=-%mem | head -n {n + 1}")


def _sh_grep(rng):
    word, d = _pick(rng, ["TODO", "FIXME", "password", "deprecated", "import", "localhost"]), _pick(rng, _DIRS)
    return (f"search for '{word}' in every file under {d}/",
            f"grep -rn --exclude-dir=.git '{word}' {d}/")


def _sh_old(rng):
    days, d = rng.randint(2, 90), _pick(rng, _DIRS)
    return (f"delete files older than {days} days in {d}/", f"find {d}/ -type f -mtime +{days} -print -delete")


def _sh_urls(rng):
    f = _pick(rng, _FILES)
    return (f"download every URL listed in {f}.txt",
            f"while read -r url; do\n  curl -fsSLO \"$url\" || echo \"failed: $url\"\ndone < {f}.txt")


# ----------------------------------------------------------------------------- java


def _java_palindrome(rng):
    word = _pick(rng, ["level", "racecar", "kayak", "rotor", "madam", "refer", "civic", "noon", "stats"])
    return (f"check whether a string such as \"{word}\" is a palindrome",
            "public static boolean isPalindrome(String s) {\n    int i = 0, j = s.length() - 1;\n    while (i < j) {\n"
            "        if (s.charAt(i++) != s.charAt(j--)) return false;\n    }\n    return true;\n}\n\n"
            f"System.out.println(isPalindrome(\"{word}\"));")


def _java_sum_above(rng):
    n, nums = rng.randint(2, 80), _numbers(rng, 6)
    return (f"sum the elements of an int array that are above {n}",
            f"int[] values = {{{', '.join(map(str, nums))}}};\nint total = 0;\nfor (int v : values) {{\n"
            f"    if (v > {n}) total += v;\n}}\nSystem.out.println(total);")


def _java_lines(rng):
    f = _pick(rng, _FILES)
    return (f"count the lines of {f}.txt",
            "import java.nio.file.*;\n\npublic class LineCount {\n    public static void main(String[] args) throws Exception {\n"
            f"        long n = Files.lines(Path.of(\"{f}.txt\")).count();\n        System.out.println(n);\n    }}\n}}")


def _java_class(rng):
    cls, a, b = _pick(rng, _ENTITIES)
    return (f"write a {cls} class with a {a} and a {b} and getters",
            f"public class {cls} {{\n    private final String {a};\n    private final double {b};\n\n"
            f"    public {cls}(String {a}, double {b}) {{\n        this.{a} = {a};\n        this.{b} = {b};\n    }}\n\n"
            f"    public String get{a.capitalize()}() {{ return {a}; }}\n    public double get{b.capitalize()}() {{ return {b}; }}\n}}")


def _java_max(rng):
    nums = _numbers(rng, 6)
    return (f"find the largest value in a List<Integer> such as {nums}",
            f"List<Integer> values = List.of({', '.join(map(str, nums))});\n"
            "int max = Collections.max(values);\nSystem.out.println(max);")


def _java_wordcount(rng):
    words = " ".join(rng.choice(_WORDS) for _ in range(5))
    return (f"count how often each word appears in \"{words}\"",
            f"String text = \"{words}\";\nMap<String, Integer> counts = new HashMap<>();\n"
            "for (String w : text.split(\"\\\\s+\")) {\n    counts.merge(w, 1, Integer::sum);\n}\nSystem.out.println(counts);")


def _java_fizzbuzz(rng):
    n, a, b = rng.randint(15, 100), _pick(rng, ["Fizz", "Ping", "Foo"]), _pick(rng, ["Buzz", "Pong", "Bar"])
    return (f"print the numbers 1 to {n}, with {a} for multiples of 3 and {b} for multiples of 5",
            f"for (int i = 1; i <= {n}; i++) {{\n    String out = \"\";\n    if (i % 3 == 0) out += \"{a}\";\n"
            f"    if (i % 5 == 0) out += \"{b}\";\n    System.out.println(out.isEmpty() ? String.valueOf(i) : out);\n}}")


# ----------------------------------------------------------------------------- c++


def _cpp_sum(rng):
    nums = _numbers(rng, 5)
    return (f"sum the elements of a std::vector<int> holding {nums}",
            "#include <iostream>\n#include <numeric>\n#include <vector>\n\nint main() {\n"
            f"    std::vector<int> v{{{', '.join(map(str, nums))}}};\n"
            "    std::cout << std::accumulate(v.begin(), v.end(), 0) << '\\n';\n}")


def _cpp_sort(rng):
    nums = _numbers(rng, 6)
    order = _pick(rng, ["descending", "ascending"])
    cmp = "std::greater<int>()" if order == "descending" else "std::less<int>()"
    return (f"sort the vector {nums} in {order} order",
            f"#include <algorithm>\n#include <functional>\n#include <vector>\n\nstd::vector<int> v{{{', '.join(map(str, nums))}}};\n"
            f"std::sort(v.begin(), v.end(), {cmp});")


def _cpp_read(rng):
    f = _pick(rng, _FILES)
    return (f"read whitespace-separated numbers from {f}.txt and print their sum",
            "#include <fstream>\n#include <iostream>\n\nint main() {\n"
            f"    std::ifstream in(\"{f}.txt\");\n    double x, total = 0;\n    while (in >> x) total += x;\n"
            "    std::cout << total << std::endl;\n}")


def _cpp_struct(rng):
    cls, a, b = _pick(rng, _ENTITIES)
    return (f"define a {cls} struct with {a} and {b} and print one",
            f"#include <iostream>\n#include <string>\n\nstruct {cls} {{\n    std::string {a};\n    double {b};\n}};\n\n"
            f"int main() {{\n    {cls} x{{\"{_pick(rng, _WORDS)}\", {rng.randint(1, 500)}}};\n"
            f"    std::cout << x.{a} << ' ' << x.{b} << '\\n';\n}}")


def _cpp_search(rng):
    target = rng.randint(1, 99)
    return (f"binary-search a sorted vector for the value {target}",
            "#include <algorithm>\n#include <vector>\n\n"
            f"bool contains(const std::vector<int>& v, int target = {target}) {{\n"
            "    return std::binary_search(v.begin(), v.end(), target);\n}")


def _cpp_vowels(rng):
    word = _pick(rng, _WORDS)
    return (f"count the vowels in a string like \"{word}\"",
            "#include <iostream>\n#include <string>\n\nint countVowels(const std::string& s) {\n    int n = 0;\n"
            "    for (char c : s) {\n        if (std::string(\"aeiouAEIOU\").find(c) != std::string::npos) n++;\n    }\n"
            f"    return n;\n}}\n\nint main() {{ std::cout << countVowels(\"{word}\") << '\\n'; }}")


def _cpp_gcd(rng):
    a, b = rng.randint(12, 999), rng.randint(12, 999)
    return (f"compute the greatest common divisor of {a} and {b}",
            "#include <iostream>\n\nint gcd(int a, int b) {\n    while (b != 0) {\n        int t = a % b;\n"
            f"        a = b;\n        b = t;\n    }}\n    return a;\n}}\n\nint main() {{ std::cout << gcd({a}, {b}) << '\\n'; }}")


TASKS = {
    "python": [_py_filter, _py_wordcount, _py_fib, _py_csv, _py_prime, _py_dataclass, _py_sort, _py_retry, _py_chunks,
               _py_json],
    "javascript": [_js_debounce, _js_fetch, _js_sum_above, _js_group, _js_countdown, _js_toggle, _js_unique,
                   _js_capitalize],
    "sql": [_sql_top, _sql_join, _sql_having, _sql_create, _sql_update, _sql_delete, _sql_duplicates, _sql_monthly],
    "shell": [_sh_large, _sh_lines, _sh_rename, _sh_backup, _sh_top, _sh_grep, _sh_old, _sh_urls],
    "java": [_java_palindrome, _java_sum_above, _java_lines, _java_class, _java_max, _java_wordcount, _java_fizzbuzz],
    "cpp": [_cpp_sum, _cpp_sort, _cpp_read, _cpp_struct, _cpp_search, _cpp_vowels, _cpp_gcd],
}


def code_task(rng: random.Random, language: str) -> tuple[str, str]:
    """A random (task phrase, code) pair for ``language``."""
    return _pick(rng, TASKS[language])(rng)
