"""revy.Context: values, nesting, decorators (of sync and async functions,
asgiref-marked coroutine functions included; generator functions refused),
threads and asyncio tasks.

No database is needed: these tests exercise only the context stack.
"""

import asyncio
import json
import threading
import types
from contextlib import ExitStack

import pytest
import stackholm
from asgiref.sync import sync_to_async
from django.http import JsonResponse
from django.views import View

import revy
from revy import Context, NoActiveContext
from revy.context import current_frame

# The six values a context carries, with the value each has when none is set.
KEYS = {
    "actor": None,
    "revision": None,
    "revision_description": "",
    "object_delta_description": "",
    "attribute_delta_description": "",
    "deletion_description": "",
}

key_param = pytest.mark.parametrize("key", list(KEYS))


def api(key):
    """get / set / unset / reset / via for one key, as plain callables."""
    return types.SimpleNamespace(
        get=getattr(Context, f"get_{key}"),
        set=getattr(Context, f"set_{key}"),
        unset=getattr(Context, f"unset_{key}"),
        reset=getattr(Context, f"reset_{key}"),
        via=getattr(Context, f"via_{key}"),
        default=KEYS[key],
    )


@pytest.fixture(autouse=True)
def no_context_leaks():
    """Every test starts and ends with no active context."""
    assert Context.get_current() is None
    yield
    assert Context.get_current() is None


# Outside any context ---------------------------------------------------------


@key_param
def test_get_outside_any_context_gives_the_default(key):
    x = api(key)
    assert x.get() == x.default
    assert type(x.get()) is type(x.default)


def test_outside_any_context_nothing_is_current_or_enabled():
    assert Context.get_current() is None
    assert current_frame() is None
    assert Context.is_enabled() is False
    assert Context.is_disabled() is True


WRITERS = [
    *(pytest.param(f"set_{key}", ("v",), id=f"set_{key}") for key in KEYS),
    *(pytest.param(f"unset_{key}", (), id=f"unset_{key}") for key in KEYS),
    *(pytest.param(f"reset_{key}", (), id=f"reset_{key}") for key in KEYS),
    pytest.param("disable", (), id="disable"),
    pytest.param("enable", (), id="enable"),
]


@pytest.mark.parametrize(("method", "args"), WRITERS)
def test_writing_outside_any_context_raises_no_active_context(method, args):
    with pytest.raises(NoActiveContext, match="no revy context is active") as info:
        getattr(Context, method)(*args)
    assert isinstance(info.value, stackholm.NoContextIsActive)
    assert revy.NoActiveContext is NoActiveContext
    # Nothing was written or activated by the failed call.
    assert Context.get_current() is None
    assert Context.get_actor() is None
    assert Context.get_revision_description() == ""


# get / set / unset / reset / via ----------------------------------------------


@key_param
def test_via_sets_the_value_for_its_block_only(key):
    x = api(key)
    context = x.via("outer")
    assert x.get() == x.default
    with context as entered:
        assert entered is context
        assert Context.get_current() is context
        assert x.get() == "outer"
    assert x.get() == x.default


@key_param
def test_set_lasts_until_the_context_ends(key):
    x = api(key)
    with Context():
        assert x.get() == x.default
        x.set("value")
        assert x.get() == "value"
    assert x.get() == x.default


@key_param
def test_inner_context_inherits_and_overrides_without_touching_outer(key):
    x = api(key)
    with x.via("outer"):
        with Context():
            assert x.get() == "outer"
            x.set("inner")
            assert x.get() == "inner"
        assert x.get() == "outer"
        with x.via("inner via"):
            assert x.get() == "inner via"
        assert x.get() == "outer"


@key_param
def test_setting_twice_then_leaving_keeps_the_outer_value(key):
    x = api(key)
    with Context():
        x.set("outer")
        with Context():
            x.set("first")
            x.set("second")
            assert x.get() == "second"
        assert x.get() == "outer"
        with x.via("via"):
            x.set("again")
            x.set("and again")
        assert x.get() == "outer"
        x.set("outer twice")
        assert x.get() == "outer twice"
    assert x.get() == x.default


@key_param
def test_unset_reveals_the_enclosing_value_inside_and_after(key):
    x = api(key)
    with x.via("outer"):
        with x.via("inner"):
            x.unset()
            assert x.get() == "outer"
        assert x.get() == "outer"
        with Context():
            x.set("inner")
            x.set("inner again")
            x.unset()
            assert x.get() == "outer"
            x.set("after unset")
            assert x.get() == "after unset"
        assert x.get() == "outer"
        # Unset in a context that set nothing leaves the enclosing value alone.
        with Context():
            x.unset()
            assert x.get() == "outer"
        assert x.get() == "outer"
        # Unset in the outermost context falls back to the default.
        x.unset()
        assert x.get() == x.default
    assert x.get() == x.default


@key_param
def test_reset_gives_the_default_inside_and_the_outer_value_after(key):
    x = api(key)
    with x.via("outer"):
        with Context():
            x.reset()
            assert x.get() == x.default
            with Context():
                assert x.get() == x.default
        assert x.get() == "outer"
        with x.via("inner"):
            x.reset()
            assert x.get() == x.default
        assert x.get() == "outer"
        x.reset()
        assert x.get() == x.default
    assert x.get() == x.default


def test_via_sets_several_values_and_enabled():
    actor, revision = object(), object()
    with Context.via(
        actor=actor,
        revision=revision,
        revision_description="r",
        object_delta_description="o",
        attribute_delta_description="a",
        deletion_description="d",
        enabled=False,
    ):
        assert Context.get_actor() is actor
        assert Context.get_revision() is revision
        assert Context.get_revision_description() == "r"
        assert Context.get_object_delta_description() == "o"
        assert Context.get_attribute_delta_description() == "a"
        assert Context.get_deletion_description() == "d"
        assert Context.is_disabled()
    assert Context.get_actor() is None
    assert Context.get_revision() is None


@pytest.mark.parametrize("make", [Context.via, Context], ids=["via", "Context"])
def test_unknown_values_are_refused(make):
    with pytest.raises(TypeError, match="colour"):
        make(actor=None, colour="red")
    assert Context.get_current() is None


def test_any_object_can_be_the_actor_including_none():
    organization = types.SimpleNamespace(name="ACME")
    with Context.via_actor(organization):
        assert Context.get_actor() is organization
        with Context.via_actor(None):
            assert Context.get_actor() is None
        assert Context.get_actor() is organization


def test_checkpoint_vocabulary_of_stackholm():
    assert issubclass(Context, stackholm.Context)
    assert issubclass(NoActiveContext, stackholm.NoContextIsActive)
    assert Context.get_checkpoint_value("actor", "fallback") == "fallback"
    with Context():
        Context.set_checkpoint_value("actor", "a")
        assert Context.get_actor() == "a"
        assert Context.get_checkpoint_value("actor") == "a"
        assert Context.pop_checkpoint_value("actor") == "a"
        assert Context.get_actor() is None
        assert Context.get_checkpoint_value("actor", "fallback") == "fallback"


# Enabling and disabling ---------------------------------------------------------


def test_disable_and_enable_within_one_context():
    with Context():
        assert Context.is_enabled() and not Context.is_disabled()
        Context.disable()
        assert Context.is_disabled() and not Context.is_enabled()
        Context.disable()
        assert Context.is_disabled()
        Context.enable()
        assert Context.is_enabled() and not Context.is_disabled()
        Context.disable()
    assert not Context.is_enabled()


def test_disabled_state_nests():
    with Context():
        Context.disable()
        with Context():
            assert Context.is_disabled(), "an inner context inherits disabled"
            with Context.as_enabled():
                assert Context.is_enabled()
                with Context.as_disabled():
                    assert Context.is_disabled()
                    with Context():
                        Context.enable()
                        assert Context.is_enabled()
                    assert Context.is_disabled()
                assert Context.is_enabled()
            assert Context.is_disabled()
            Context.enable()
            assert Context.is_enabled()
        assert Context.is_disabled(), "enable() in the inner context ended with it"
        Context.enable()
        with Context.as_disabled():
            assert Context.is_disabled()
        assert Context.is_enabled()


def test_as_disabled_and_as_enabled_as_outermost_contexts():
    with Context.as_disabled():
        assert Context.is_disabled()
    with Context.as_enabled():
        assert Context.is_enabled()
    assert Context.is_disabled(), "outside any context nothing is enabled"


# get_current and is_active -----------------------------------------------------


def test_get_current_follows_the_innermost_context():
    outer, inner = Context(), Context.via_actor("a")
    with outer:
        assert Context.get_current() is outer
        assert outer.is_active and not inner.is_active
        with inner:
            assert Context.get_current() is inner
            assert outer.is_active and inner.is_active
        assert Context.get_current() is outer
        assert not inner.is_active
    assert not outer.is_active


# with statements and decorators ---------------------------------------------


def test_several_contexts_in_one_parenthesised_with():
    actor = object()
    with (
        Context.via_actor(actor),
        Context.via_revision_description("Detected by the system."),
        Context.via_deletion_description("gone"),
    ):
        assert Context.get_actor() is actor
        assert Context.get_revision_description() == "Detected by the system."
        assert Context.get_deletion_description() == "gone"
        assert Context.is_enabled()
    assert Context.get_actor() is None
    assert Context.get_revision_description() == ""
    assert Context.get_deletion_description() == ""


def test_decorated_sync_function_runs_inside_a_context():
    @Context()
    def plain():
        """Docstring kept."""
        return Context.get_current() is not None, Context.is_enabled()

    @Context.via_actor("alice")
    def as_alice(suffix):
        return Context.get_actor() + suffix

    assert plain() == (True, True)
    assert plain.__name__ == "plain" and plain.__doc__ == "Docstring kept."
    assert as_alice("!") == "alice!"
    assert Context.get_actor() is None


def test_decorated_async_function_runs_inside_a_context():
    @Context()
    async def plain():
        await asyncio.sleep(0)
        return Context.get_current() is not None, Context.is_enabled()

    @Context.via_actor("alice")
    async def as_alice(suffix):
        await asyncio.sleep(0)
        return Context.get_actor() + suffix

    assert asyncio.iscoroutinefunction(plain)
    assert plain.__name__ == "plain"
    assert asyncio.run(plain()) == (True, True)
    assert asyncio.run(as_alice("!")) == "alice!"


def run_maybe_async(func, *args):
    result = func(*args)
    return asyncio.run(result) if asyncio.iscoroutine(result) else result


def make_setter(decorator, is_async):
    """A decorated function that reports what it saw on entry, then sets values."""

    def body(value):
        seen = (Context.get_actor(), Context.get_revision_description())
        seen += (Context.is_enabled(),)
        Context.set_actor(value)
        Context.set_revision_description(value)
        Context.disable()
        return seen

    if is_async:

        async def run(value):
            await asyncio.sleep(0)
            return body(value)

    else:

        def run(value):
            return body(value)

    return decorator(run)


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    ("decorator", "actor_on_entry"),
    [(Context(), None), (Context.via_actor("fixed"), "fixed")],
    ids=["Context()", "via_actor"],
)
def test_each_call_of_a_decorated_function_gets_a_fresh_activation(
    decorator, actor_on_entry, is_async
):
    func = make_setter(decorator, is_async)
    assert run_maybe_async(func, "first call") == (actor_on_entry, "", True)
    assert run_maybe_async(func, "second call") == (actor_on_entry, "", True)
    assert Context.get_current() is None


def test_recursion_of_a_decorated_sync_function():
    log = []
    fixed_context = Context.via_actor("base")

    @fixed_context
    def fixed(n):
        assert Context.get_actor() == "base", "each call enters via_actor afresh"
        Context.set_actor(f"level {n}")
        if n:
            fixed(n - 1)
        log.append((n, Context.get_actor(), fixed_context.is_active))

    fixed(3)
    assert log == [(n, f"level {n}", True) for n in range(4)]

    @Context()
    def inheriting(n):
        inherited = Context.get_actor()
        Context.set_actor(n)
        if n:
            assert inheriting(n - 1) == n, "the inner call saw the outer's value"
        assert Context.get_actor() == n
        assert Context.get_current() is not None
        return inherited

    assert inheriting(5) is None
    assert Context.get_current() is None


def test_recursion_of_a_decorated_async_function():
    @Context()
    async def inheriting(n):
        inherited = Context.get_actor()
        Context.set_actor(n)
        await asyncio.sleep(0)
        if n:
            assert await inheriting(n - 1) == n
        await asyncio.sleep(0)
        assert Context.get_actor() == n
        assert Context.get_current() is not None
        return inherited

    assert asyncio.run(inheriting(5)) is None


def test_decorating_an_asgiref_marked_coroutine_function_keeps_the_context():
    """``sync_to_async(f)`` and an async class-based view's ``as_view()`` are
    coroutine functions for asgiref and Django (``markcoroutinefunction``);
    the decorator must await them inside the context."""

    def actor():
        return Context.get_actor()

    decorated = Context.via_actor("bot")(sync_to_async(actor))
    assert asyncio.run(decorated()) == "bot"


def test_decorating_an_async_class_based_view_keeps_the_context():
    class AsyncView(View):
        async def get(self, request):
            return JsonResponse({"actor": Context.get_actor()})

    from django.test import RequestFactory

    view = Context.via_actor("bot")(AsyncView.as_view())
    response = asyncio.run(view(RequestFactory().get("/")))
    assert json.loads(response.content) == {"actor": "bot"}


def test_decorating_a_generator_function_is_refused():
    # Its body would run after the call returned, outside the context.
    def actors():
        yield Context.get_actor()

    async def async_actors():
        yield Context.get_actor()

    for function in (actors, async_actors):
        with pytest.raises(TypeError, match="generator function"):
            Context.via_actor("bot")(function)


# Exceptions and out-of-order exits -------------------------------------------


def test_an_exception_reaches_the_caller_unchanged_and_the_stack_unwinds():
    error = ValueError("boom")
    with (
        pytest.raises(ValueError) as info,
        Context.via_actor("outer"),
        Context.via_revision_description("d"),
        Context.via_actor("inner"),
    ):
        raise error
    assert info.value is error
    assert info.value.__context__ is None and info.value.__cause__ is None
    assert Context.get_current() is None

    with Context.via_actor("outer"):
        try:
            with Context.via_actor("inner"):
                Context.disable()
                raise KeyError("k")
        except KeyError:
            pass
        assert Context.get_actor() == "outer"
        assert Context.is_enabled()


@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
def test_an_exception_from_a_decorated_function_propagates(is_async):
    error = LookupError("nope")

    if is_async:

        @Context.via_actor("a")
        async def failing():
            await asyncio.sleep(0)
            raise error

    else:

        @Context.via_actor("a")
        def failing():
            raise error

    with pytest.raises(LookupError) as info:
        run_maybe_async(failing)
    assert info.value is error


def test_leaving_contexts_out_of_order_raises_runtime_error():
    first, second = Context.via_actor("first"), Context.via_actor("second")
    first.__enter__()
    second.__enter__()
    try:
        with pytest.raises(RuntimeError, match="reverse order"):
            first.__exit__(None, None, None)
        # The failed exit changed nothing.
        assert Context.get_current() is second
        assert Context.get_actor() == "second"
        with pytest.raises(RuntimeError, match="reverse order"):
            first.deactivate()
    finally:
        second.__exit__(None, None, None)
        first.__exit__(None, None, None)
    with pytest.raises(RuntimeError, match="reverse order"):
        Context().__exit__(None, None, None)


def test_activate_and_deactivate_pair_like_with():
    context = Context.via_actor("a")
    assert context.activate() is context
    try:
        assert Context.get_actor() == "a"
    finally:
        context.deactivate()
    assert Context.get_actor() is None


# Depth ------------------------------------------------------------------------


def test_nesting_a_thousand_deep_and_unwinding_restores_every_level():
    depth = 1000

    # Even levels enter via_actor(level); every third level sets a description.
    def expected(level):
        return level - level % 2, f"level {level - level % 3}"

    contexts = []
    for level in range(depth):
        context = Context.via_actor(level) if level % 2 == 0 else Context()
        context.__enter__()
        contexts.append(context)
        if level % 3 == 0:
            Context.set_revision_description(f"level {level}")
        assert (Context.get_actor(), Context.get_revision_description()) == (
            expected(level)
        )
    Context.disable()
    for level in reversed(range(depth)):
        assert Context.get_current() is contexts[level]
        assert (Context.get_actor(), Context.get_revision_description()) == (
            expected(level)
        )
        assert Context.is_enabled() is (level != depth - 1)
        contexts[level].__exit__(None, None, None)
    assert Context.get_actor() is None

    with ExitStack() as stack:
        for level in range(depth):
            stack.enter_context(Context.via_actor(level))
        assert Context.get_actor() == depth - 1
    assert Context.get_current() is None


# Threads and asyncio tasks -------------------------------------------------------


def test_eight_threads_each_see_only_their_own_actor():
    threads_count, steps = 8, 25
    barrier = threading.Barrier(threads_count, timeout=30)
    seen = {}

    def work(number):
        mine = f"thread {number}"
        log = seen[number] = []
        barrier.wait()
        log.append(Context.get_actor())  # None: a new thread has no context
        with Context.via_actor(mine):
            for step in range(steps):
                barrier.wait()
                log.append(Context.get_actor())
                with Context():
                    Context.set_actor((mine, step))
                    barrier.wait()
                    log.append(Context.get_actor())
                barrier.wait()
                log.append(Context.get_actor())
        log.append(Context.get_actor())

    threads = [threading.Thread(target=work, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert not barrier.broken
    for number in range(threads_count):
        mine = f"thread {number}"
        expected = [None]
        for step in range(steps):
            expected += [mine, (mine, step), mine]
        assert seen[number] == expected + [None]
    assert Context.get_actor() is None, "the main thread saw none of it"


def test_two_hundred_concurrent_tasks_each_see_only_their_own_actor():
    tasks_count, steps = 200, 5
    events = []

    async def check(mine, step, expected):
        await asyncio.sleep(0)
        events.append((mine, step))
        assert Context.get_actor() == expected, (mine, step)

    async def with_block(mine):
        with Context.via_actor(mine):
            for step in range(steps):
                await check(mine, step, mine)
                with Context():
                    Context.set_actor((mine, step))
                    await check(mine, step, (mine, step))
                await check(mine, step, mine)
            return Context.get_actor()

    @Context()
    async def decorated(mine):
        Context.set_actor(mine)
        for step in range(steps):
            await check(mine, step, mine)
            with Context.via_actor((mine, step)):
                await check(mine, step, (mine, step))
            await check(mine, step, mine)
        return Context.get_actor()

    async def main():
        workers = [with_block, decorated]
        return await asyncio.gather(
            *(workers[n % 2](f"task {n}") for n in range(tasks_count))
        )

    assert asyncio.run(main()) == [f"task {n}" for n in range(tasks_count)]
    assert len(events) == tasks_count * steps * 3
    # The tasks really interleaved: the last task started before the first ended.
    assert events.index(("task 199", 0)) < events.index(("task 0", steps - 1))


def test_a_task_sees_the_values_current_at_its_creation():
    async def child():
        await asyncio.sleep(0)
        return Context.get_actor(), Context.get_revision_description()

    async def main():
        with Context.via_actor("parent"):
            Context.set_revision_description("at creation")
            task = asyncio.create_task(child())
            Context.set_actor("changed after creation")
            Context.set_revision_description("changed after creation")
            seen = await task
            assert Context.get_actor() == "changed after creation"
            late = asyncio.create_task(child())
        # The parent left its context before the late task ran.
        return seen, await late

    seen, late = asyncio.run(main())
    assert seen == ("parent", "at creation")
    assert late == ("changed after creation", "changed after creation")


def test_what_a_child_task_sets_never_reaches_its_parent_or_siblings():
    async def child(name, started, results):
        Context.set_actor(name)
        Context.set_deletion_description(name)
        Context.disable()
        started.append(name)
        with Context.via_actor(f"{name} inner"):
            await asyncio.sleep(0)
        for _ in range(3):
            await asyncio.sleep(0)
            results[name] = (Context.get_actor(), Context.get_deletion_description())
        assert Context.is_disabled()
        return Context.get_current()

    async def main():
        started, results = [], {}
        with Context.via_actor("parent") as parent:
            Context.set_deletion_description("parent")
            currents = await asyncio.gather(
                *(child(f"child {n}", started, results) for n in range(5))
            )
            assert len(started) == 5
            assert Context.get_actor() == "parent"
            assert Context.get_deletion_description() == "parent"
            assert Context.is_enabled()
            assert Context.get_current() is parent
            assert currents == [parent] * 5
            to_thread = await asyncio.to_thread(Context.get_actor)
            await asyncio.to_thread(Context.set_actor, "from a thread")
            assert Context.get_actor() == "parent"
        return results, to_thread

    results, to_thread = asyncio.run(main())
    assert results == {f"child {n}": (f"child {n}",) * 2 for n in range(5)}
    assert to_thread == "parent"


def test_nested_contexts_and_child_tasks_share_the_outermost_activation():
    # The revision created by the first recorded change lives on the activation
    # of the outermost context, so nested contexts and tasks add to it.
    revision = object()

    async def child():
        with Context():
            return Context.get_revision()

    async def main():
        with Context():
            current_frame().activation.revisions["default"] = revision
            with Context.via_actor("a"):
                assert Context.get_revision() is revision
                assert await asyncio.create_task(child()) is revision
                explicit = object()
                with Context.via_revision(explicit):
                    assert Context.get_revision() is explicit
                    Context.reset_revision()
                    assert Context.get_revision() is revision
        with Context():
            assert Context.get_revision() is None, "a new outermost context"

    asyncio.run(main())


# The examples of the upstream README, run as written -----------------------


class Recorder(types.SimpleNamespace):
    """A stand-in model instance that notes the context of what is done to it."""

    def __setattr__(self, name, value):
        if name != "log":
            self.log.append(
                (
                    "set",
                    name,
                    Context.get_actor(),
                    Context.get_attribute_delta_description(),
                )
            )
        super().__setattr__(name, value)

    def save(self):
        self.log.append(
            ("save", Context.get_actor(), Context.get_revision_description())
        )

    def delete(self):
        self.log.append(
            (
                "delete",
                Context.get_object_delta_description(),
                Context.get_deletion_description(),
            )
        )


def test_readme_detected_by_the_system():
    comment = Recorder(log=[])

    with (
        Context.via_actor(None),
        Context.via_revision_description("Detected by the system."),
    ):
        comment.is_marked_as_spam = True
        comment.save()

    assert comment.log == [
        ("set", "is_marked_as_spam", None, ""),
        ("save", None, "Detected by the system."),
    ]


@pytest.mark.parametrize("as_organization", [False, True])
def test_readme_generic_actors(as_organization):
    @Context()
    def view(request):
        if request.META.get("HTTP_X_PERFORM_AS_ORGANIZATION"):
            Context.set_actor(request.organization)
        else:
            Context.set_actor(request.user)
        return Context.get_actor()

    user, organization = object(), object()
    meta = {"HTTP_X_PERFORM_AS_ORGANIZATION": "1"} if as_organization else {}
    request = types.SimpleNamespace(META=meta, user=user, organization=organization)
    assert view(request) is (organization if as_organization else user)
    assert Context.get_actor() is None


def test_readme_multiple_actors_in_one_revision():
    from revy import Context as C

    instance = Recorder(log=[], amount=10, exchange_rate=3, local_amount=20)

    def deserialize(data):
        return data

    def view(request):
        with C.via_actor(request.user):
            # <-- The actor is `request.user` in this block.
            C.set_revision_description(
                request.META.get("HTTP_X_COMMIT_MESSAGE"),
            )
            instance = deserialize(request.data)
            local_amount = instance.amount * instance.exchange_rate
            if instance.local_amount != local_amount:
                with (
                    C.via_actor(None),
                    C.via_attribute_delta_description(
                        "Corrected by the system.",
                    ),
                ):
                    # <-- The actor is `None` in this block.
                    instance.local_amount = local_amount
                # <-- The actor here is `request.user` again.
            instance.save()

    user = object()
    request = types.SimpleNamespace(
        user=user, META={"HTTP_X_COMMIT_MESSAGE": "Fix totals"}, data=instance
    )
    instance.log.clear()
    view(request)
    assert instance.local_amount == 30
    assert instance.log == [
        ("set", "local_amount", None, "Corrected by the system."),
        ("save", user, "Fix totals"),
    ]


def test_readme_disable_and_enable():
    observed = []

    @Context()
    def some_task():
        Context.disable()
        observed.append(Context.is_enabled())  # the README's `...`
        Context.enable()
        observed.append(Context.is_enabled())

    some_task()
    some_task()
    assert observed == [False, True, False, True]


def test_readme_as_disabled():
    observed = []

    @Context()
    def some_task():
        with Context.as_disabled():
            observed.append(Context.is_enabled())  # Context is disabled here.
        observed.append(Context.is_enabled())  # Here context is re-enabled.

    some_task()
    assert observed == [False, True]


def test_readme_deletion_descriptions():
    user = Recorder(log=[])

    with (
        Context.via_object_delta_description(
            "The account has been closed at the owner's request.",
        ),
        Context.via_deletion_description(
            "Deleted because the owner's account has been closed.",
        ),
    ):
        user.delete()

    assert user.log == [
        (
            "delete",
            "The account has been closed at the owner's request.",
            "Deleted because the owner's account has been closed.",
        )
    ]
