;  DigitPick: what the skills can do in a scene, and what is derived about its cubes.
; Facts come from perception and memory, e.g. (shows cube_1 3) (on cube_2 cube_1) (in cube_3 tray)
; (reachable cube_1) (holding cube_1). The planner asks for the skills (pick c), (place p) and
; (stack c) (put the held cube on c), and reads the derived facts about the cubes (clear, above,
; largest, smallest_even, one_more, ...). Nothing here knows the request: which cubes it asks
; for is the language model's decision; what follows from the facts is this theory's.

(sort Cube)
(sort Digit (integers 0 9))
(sort Place)
(constant tray Place)
(constant table Place)

(relation shows (Cube Digit))     ; (shows c d): cube c shows digit d on its top face
(relation on (Cube Cube))         ; (on a b): cube a rests on cube b
(relation in (Cube Place))        ; (in c tray): cube c is in the tray
(relation reachable (Cube))       ; (reachable c): the arm can reach cube c
(relation holding (Cube))         ; (holding c): the gripper holds cube c
(relation location (Place))       ; (location p): p is a place a cube can be put on
(relation less (Digit Digit))     ; (less a b): a < b
(relation succ (Digit Digit))     ; (succ a b): b = a + 1
(relation even (Digit))           ; (even d): d is even
(relation covered (Cube))         ; (covered c): something rests on c
(relation clear (Cube))           ; (clear c): nothing rests on c
(relation above (Cube Cube))      ; (above a b): a is somewhere on the pile that stands on b
(relation hand_full ())           ; the gripper holds a cube
(relation pick (Cube))            ; (pick c): the skill pick(c) can run now
(relation place (Place))          ; (place p): the skill place(p) can run now
(relation bigger_shown (Cube))    ; (bigger_shown c): some cube shows a larger number than c
(relation smaller_shown (Cube))   ; (smaller_shown c): some cube shows a smaller number than c
(relation largest (Cube))         ; (largest c): c shows the largest number in the scene
(relation smallest (Cube))        ; (smallest c): c shows the smallest number in the scene
(relation even_cube (Cube))       ; (even_cube c): c shows an even number
(relation odd_cube (Cube))        ; (odd_cube c): c shows an odd number
(relation bigger_even (Cube))     ; (bigger_even c): an even cube shows more than c
(relation smaller_even (Cube))    ; (smaller_even c): an even cube shows less than c
(relation bigger_odd (Cube))      ; (bigger_odd c): an odd cube shows more than c
(relation smaller_odd (Cube))     ; (smaller_odd c): an odd cube shows less than c
(relation largest_even (Cube))    ; (largest_even c): c shows the largest even number
(relation smallest_even (Cube))   ; (smallest_even c): c shows the smallest even number
(relation largest_odd (Cube))     ; (largest_odd c): c shows the largest odd number
(relation smallest_odd (Cube))    ; (smallest_odd c): c shows the smallest odd number
(relation one_more (Cube Digit))  ; (one_more c d): c shows the number one more than d
(relation one_less (Cube Digit))  ; (one_less c d): c shows the number one less than d

(fact (location tray))
(fact (location table))
(fact (less 0 1))
(fact (less 0 2))
(fact (less 0 3))
(fact (less 0 4))
(fact (less 0 5))
(fact (less 0 6))
(fact (less 0 7))
(fact (less 0 8))
(fact (less 0 9))
(fact (less 1 2))
(fact (less 1 3))
(fact (less 1 4))
(fact (less 1 5))
(fact (less 1 6))
(fact (less 1 7))
(fact (less 1 8))
(fact (less 1 9))
(fact (less 2 3))
(fact (less 2 4))
(fact (less 2 5))
(fact (less 2 6))
(fact (less 2 7))
(fact (less 2 8))
(fact (less 2 9))
(fact (less 3 4))
(fact (less 3 5))
(fact (less 3 6))
(fact (less 3 7))
(fact (less 3 8))
(fact (less 3 9))
(fact (less 4 5))
(fact (less 4 6))
(fact (less 4 7))
(fact (less 4 8))
(fact (less 4 9))
(fact (less 5 6))
(fact (less 5 7))
(fact (less 5 8))
(fact (less 5 9))
(fact (less 6 7))
(fact (less 6 8))
(fact (less 6 9))
(fact (less 7 8))
(fact (less 7 9))
(fact (less 8 9))
(fact (succ 0 1))
(fact (succ 1 2))
(fact (succ 2 3))
(fact (succ 3 4))
(fact (succ 4 5))
(fact (succ 5 6))
(fact (succ 6 7))
(fact (succ 7 8))
(fact (succ 8 9))
(fact (even 0)) (fact (even 2)) (fact (even 4)) (fact (even 6)) (fact (even 8))

; -- piles ----------------------------------------------------------------------------------
(rule covered_when_something_on_it
  (forall ((a Cube) (b Cube)) (implies (on a b) (covered b))))
(rule clear_when_not_covered
  (forall ((c Cube) (d Digit)) (implies (and (shows c d) (not (covered c))) (clear c))))
(rule above_when_on
  (forall ((a Cube) (b Cube)) (implies (on a b) (above a b))))
(rule above_when_on_a_pile
  (forall ((a Cube) (b Cube) (c Cube)) (implies (and (on a b) (above b c)) (above a c))))

; -- skills ---------------------------------------------------------------------------------
(rule hand_full_when_holding
  (forall ((c Cube)) (implies (holding c) (hand_full))))
; A cube can be picked if it is reachable, nothing rests on it, and the hand is empty.
(rule pick_when_reachable_and_clear
  (forall ((c Cube))
    (implies (and (reachable c) (not (covered c)) (not (hand_full))) (pick c))))
; A held cube can be put on any place.
(rule place_when_holding
  (forall ((c Cube) (p Place)) (implies (and (holding c) (location p)) (place p))))

; -- what the numbers on the cubes say ------------------------------------------------------
(rule bigger_shown_when_a_larger_number_is_shown
  (forall ((a Cube) (b Cube) (x Digit) (y Digit))
    (implies (and (shows a x) (shows b y) (less x y)) (bigger_shown a))))
(rule smaller_shown_when_a_smaller_number_is_shown
  (forall ((a Cube) (b Cube) (x Digit) (y Digit))
    (implies (and (shows a x) (shows b y) (less y x)) (smaller_shown a))))
(rule largest_unless_bigger_shown
  (forall ((c Cube) (d Digit)) (implies (and (shows c d) (not (bigger_shown c))) (largest c))))
(rule smallest_unless_smaller_shown
  (forall ((c Cube) (d Digit)) (implies (and (shows c d) (not (smaller_shown c))) (smallest c))))
(rule even_cube_when_it_shows_an_even_number
  (forall ((c Cube) (d Digit)) (implies (and (shows c d) (even d)) (even_cube c))))
(rule odd_cube_when_it_shows_no_even_number
  (forall ((c Cube) (d Digit)) (implies (and (shows c d) (not (even d))) (odd_cube c))))
(rule bigger_even_when_a_larger_even_number_is_shown
  (forall ((a Cube) (b Cube) (x Digit) (y Digit))
    (implies (and (even_cube a) (even_cube b) (shows a x) (shows b y) (less x y)) (bigger_even a))))
(rule smaller_even_when_a_smaller_even_number_is_shown
  (forall ((a Cube) (b Cube) (x Digit) (y Digit))
    (implies (and (even_cube a) (even_cube b) (shows a x) (shows b y) (less y x)) (smaller_even a))))
(rule bigger_odd_when_a_larger_odd_number_is_shown
  (forall ((a Cube) (b Cube) (x Digit) (y Digit))
    (implies (and (odd_cube a) (odd_cube b) (shows a x) (shows b y) (less x y)) (bigger_odd a))))
(rule smaller_odd_when_a_smaller_odd_number_is_shown
  (forall ((a Cube) (b Cube) (x Digit) (y Digit))
    (implies (and (odd_cube a) (odd_cube b) (shows a x) (shows b y) (less y x)) (smaller_odd a))))
(rule largest_even_unless_bigger
  (forall ((c Cube)) (implies (and (even_cube c) (not (bigger_even c))) (largest_even c))))
(rule smallest_even_unless_smaller
  (forall ((c Cube)) (implies (and (even_cube c) (not (smaller_even c))) (smallest_even c))))
(rule largest_odd_unless_bigger
  (forall ((c Cube)) (implies (and (odd_cube c) (not (bigger_odd c))) (largest_odd c))))
(rule smallest_odd_unless_smaller
  (forall ((c Cube)) (implies (and (odd_cube c) (not (smaller_odd c))) (smallest_odd c))))
(rule one_more_by_succ
  (forall ((c Cube) (x Digit) (y Digit)) (implies (and (shows c y) (succ x y)) (one_more c x))))
(rule one_less_by_succ
  (forall ((c Cube) (x Digit) (y Digit)) (implies (and (shows c x) (succ x y)) (one_less c y))))
