/* The activity form: 须报名 follows the category (off for 主题党日 and 三会一课, whose audience is
 * known and checks in at the door) until the secretary sets it herself. */
(function () {
  "use strict";

  function setUp() {
    var category = document.getElementById("id_category");
    var enrolment = document.getElementById("id_enrollment_required");
    if (!category || !enrolment || !category.dataset.openDoor) return;
    var openDoor = category.dataset.openDoor.split(" ");
    var chosenByHand = false;
    enrolment.addEventListener("change", function () {
      chosenByHand = true;
    });
    category.addEventListener("change", function () {
      if (!chosenByHand) enrolment.checked = openDoor.indexOf(category.value) < 0;
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
