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
