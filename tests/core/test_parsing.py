from django.http import QueryDict

from apps.core.parsing import querydict_to_data


def test_it_expands_bracketed_form_keys_into_lists_and_objects() -> None:
    qd = QueryDict(
        "userIds[]=a&userIds[]=b&options[limit]=10&metadata[color]=red&tags[0]=x&tags[1]=y"
    )
    assert querydict_to_data(qd) == {
        "userIds": ["a", "b"],
        "options": {"limit": "10"},
        "metadata": {"color": "red"},
        "tags": ["x", "y"],
    }


def test_it_turns_repeated_plain_keys_into_a_list() -> None:
    assert querydict_to_data(QueryDict("userIds=a&userIds=b&channelId=c")) == {
        "userIds": ["a", "b"],
        "channelId": "c",
    }
