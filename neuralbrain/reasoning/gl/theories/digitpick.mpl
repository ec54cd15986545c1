; DigitPick: which skill calls are feasible in the current scene.
; The planner asserts the scene as facts, e.g. (shows cube_1 3) (on cube_2 cube_1)
; (reachable cube_1) (heard 7) (holding cube_1), then asks for (pick cube_1) or (place tray).

(sort Cube)
(sort Digit (integers 0 9))
(sort Place)
(constant tray Place)
(constant table Place)

(relation shows (Cube Digit))     ; (shows c d): cube c shows digit d on its top face
(relation heard (Digit))          ; (heard d): the spoken instruction named digit d
(relation on (Cube Cube))         ; (on a b): cube a rests on cube b
(relation reachable (Cube))       ; (reachable c): the arm can reach cube c
(relation holding (Cube))         ; (holding c): the gripper holds cube c
(relation location (Place))       ; (location p): p is a place a cube can be put on
(relation target (Cube))          ; (target c): c is the cube the instruction asks for
(relation covered (Cube))         ; (covered c): something rests on c
(relation hand_full ())           ; the gripper holds a cube
(relation pick (Cube))            ; (pick c): the skill pick(c) can run now
(relation place (Place))          ; (place p): the skill place(p) can run now
(relation set_aside (Cube))       ; (set_aside c): the agent itself put c down on the table
(relation may_cover (Cube))       ; (may_cover c): c may rest on a cube nobody has seen yet

(fact (location tray))
(fact (location table))

; The target is the cube whose digit equals the heard digit.
(rule target_shows_heard_digit
  (forall ((c Cube) (d Digit)) (implies (and (shows c d) (heard d)) (target c))))

; A cube is covered when another cube rests on it.
(rule covered_when_something_on_it
  (forall ((a Cube) (b Cube)) (implies (on a b) (covered b))))

(rule hand_full_when_holding
  (forall ((c Cube)) (implies (holding c) (hand_full))))

; A cube can be picked if it is reachable, nothing rests on it, and the hand is empty.
(rule pick_when_reachable_and_clear
  (forall ((c Cube))
    (implies (and (reachable c) (not (covered c)) (not (hand_full))) (pick c))))

; A held cube can be placed on any place.
(rule place_when_holding
  (forall ((c Cube) (p Place)) (implies (and (holding c) (location p)) (place p))))

; Looking for a cube nobody has seen: it can only be under a cube, and a cube the agent put on
; the table itself went onto free table, so it covers nothing.
(rule may_cover_unless_set_aside
  (forall ((c Cube)) (implies (and (reachable c) (not (set_aside c))) (may_cover c))))
