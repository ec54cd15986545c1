; Peano arithmetic in MPL, written relationally: (+ a b c) reads a + b = c.
; Only the definitions are given; every law of + and * is left for the prover to discover.

(sort N)
(constant 0 N)

; (s a b): b is the successor of a. Declared functional: b exists and is unique.
(relation s (N N) functional)
; (+ a b c): a + b = c
(relation + (N N N) functional)
; (* a b c): a * b = c
(relation * (N N N) functional)

; 0 is no successor, and the successor is injective.
(axiom succ_ne_zero
  (forall ((a N) (b N)) (implies (s a b) (not (= b 0)))))
(axiom succ_inj
  (forall ((a N) (b N) (c N)) (implies (and (s a c) (s b c)) (= a b))))

; Addition, by recursion on the second argument.
(axiom add_zero (forall ((a N)) (+ a 0 a)))
(axiom add_succ
  (forall ((a N) (b N) (sb N) (c N) (sc N))
    (implies (and (s b sb) (+ a b c) (s c sc)) (+ a sb sc))))

; Multiplication, by recursion on the second argument.
(axiom mul_zero (forall ((a N)) (* a 0 0)))
(axiom mul_succ
  (forall ((a N) (b N) (sb N) (c N) (d N))
    (implies (and (s b sb) (* a b c) (+ c a d)) (* a sb d))))

; Induction: every N is 0 or the successor of an N.
(induction N (base 0) (step s))
