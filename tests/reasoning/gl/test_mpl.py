import pytest

from neuralbrain.errors import DataError
from neuralbrain.reasoning.gl.mpl import MPLError, load_theory, parse_theory, theories_dir

HEAD = "(sort N)\n(constant 0 N)\n(relation s (N N) functional)\n(relation + (N N N) functional)\n"


def test_peano_declares_everything_the_prover_needs():
    t = load_theory(theories_dir() / "peano.mpl")
    assert set(t.functions()) == {"s", "+", "*"}
    assert t.inductions["N"].base == "0" and t.inductions["N"].step == "s"
    assert [s.name for s in t.of_kind("axiom")] == [
        "succ_ne_zero", "succ_inj", "add_zero", "add_succ", "mul_zero", "mul_succ"
    ]


@pytest.mark.parametrize(
    "text, where, words",
    [
        ("(axiom a (forall ((x N)) (+ x 0 x))", "5:1", "never closed"),
        ("(axiom a (forall ((x N)) (+ x 0 x))))", "5:37", "unexpected ')'"),
        ("(axiom a (forall ((x N)) (+ x q x)))", "5:31", "undefined symbol 'q'"),
        ("(axiom a (forall ((x N)) (minus x 0 x)))", "5:27", "undefined relation 'minus'"),
        ("(axiom a (forall ((x N)) (+ x 0)))", "5:26", "takes 3 arguments"),
        ("(sort M)\n(constant m M)\n(axiom a (forall ((x N)) (+ x m x)))", "7:31", "ill-typed"),
        ("(lemma a (+ 0 0 0))", "5:2", "unknown form 'lemma'"),
        ("(axiom a (forall ((x Q)) (+ x 0 x)))", "5:22", "undefined sort 'Q'"),
        ("(induction N (base 0) (step +))", "5:29", "must be a functional relation"),
    ],
)
def test_errors_name_line_and_column(text, where, words):
    with pytest.raises(MPLError) as e:
        parse_theory(HEAD + text, "t.mpl")
    msg = str(e.value)
    assert msg.startswith(f"t.mpl:{where}:"), msg
    assert words in msg
    assert isinstance(e.value, DataError)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read MPL theory"):
        load_theory(tmp_path / "nope.mpl")


def test_parsing_twice_gives_the_same_theory():
    text = (theories_dir() / "peano.mpl").read_text()
    assert parse_theory(text) == parse_theory(text)


# -- limits for theories from outside --------------------------------------------
def test_nesting_deeper_than_the_limit_is_an_mpl_error_not_a_recursion_error():
    from neuralbrain.reasoning.gl import mpl

    deep = "(axiom a " + "(not " * 100_000 + "(= 0 0)" + ")" * 100_001
    with pytest.raises(mpl.MPLError, match=r"^<mpl>:1:\d+: lists nested more than 64 deep"):
        mpl.parse_theory(deep)
    ok = "(sort N) (constant 0 N) (axiom a " + "(not " * 60 + "(= 0 0)" + ")" * 61
    assert len(mpl.parse_theory(ok).statements) == 1


def test_text_and_file_size_limits(tmp_path, monkeypatch):
    from neuralbrain.reasoning.gl import mpl

    monkeypatch.setattr(mpl, "MAX_MPL_CHARS", 100)
    with pytest.raises(mpl.MPLError, match="101 characters, expected an MPL text of at most 100"):
        mpl.parse_theory("(sort N)" + " " * 93)
    big = tmp_path / "big.mpl"
    big.write_text(";" * 401)
    read = []
    monkeypatch.setattr(type(big), "read_text", lambda *a, **k: read.append(1))
    with pytest.raises(DataError, match=r"big.mpl' is 401 bytes, expected at most 400"):
        mpl.load_theory(big)
    assert read == []  # refused before reading


@pytest.mark.parametrize("literal", ["9" * 5000, "²", "1" * 19])
def test_integer_literals_are_ascii_and_int64(literal):
    from neuralbrain.reasoning.gl import mpl

    with pytest.raises(mpl.MPLError, match=r"^<mpl>:1:\d+: "):
        mpl.parse_theory(f"(sort D (integers 0 {literal}))")
