#include "flow/actor_collection.h"

namespace flow {

struct ActorCollection::Member : detail::Waiter,
                                 detail::ListNode<MemberTag>,
                                 detail::FastAllocated {
  Member(ActorCollection* o, Future<Void> f)
      : detail::Waiter(&ActorCollection::member_done), owner(o), future(std::move(f)) {}
  ActorCollection* owner;
  Future<Void> future;
};

ActorCollection::ActorCollection(bool return_when_empty) : return_when_empty_(return_when_empty) {}

ActorCollection::~ActorCollection() {
  // Cancelling one member may end others; each ending member unlinks itself.
  while (Member* m = members_.pop_front()) {
    if (!m->future.is_ready()) m->future.test_state()->remove_waiter(m);
    delete m;  // Dropping the future cancels the actor.
  }
}

void ActorCollection::add(Future<Void> actor) {
  ASSERT(actor.is_valid());
  auto* m = new Member(this, std::move(actor));
  members_.push_back(m);
  if (m->future.is_ready()) {
    finish(m);
  } else {
    m->future.test_state()->add_waiter(m);
  }
}

void ActorCollection::member_done(detail::Waiter* w) {
  auto* m = static_cast<Member*>(w);
  m->owner->finish(m);
}

void ActorCollection::finish(Member* m) {
  members_.remove(m);
  const bool failed = m->future.is_error();
  const Error error = failed ? m->future.get_error() : Error(ErrorCode::success);
  delete m;
  if (!result_.can_be_set()) return;
  if (failed) {
    result_.send_error(error);
  } else if (return_when_empty_ && members_.empty()) {
    result_.send();
  }
}

}  // namespace flow
